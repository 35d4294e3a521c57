// StoryCanvas results viewer (Python side: components/results_viewer.py).
//
// Zoom, pan, rotation, video stepping and the A/B wipe change on every pointer move, so they live here;
// Python hears only which result is shown ("index") and when the viewer is dismissed ("close").

const ZOOM_STEP = 1.25;
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 16;
const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

export default {
  template: `
    <div class="sc-rv" ref="root" tabindex="0" role="dialog" aria-label="Results viewer" data-testid="results-viewer"
         :data-index="at" :data-item-id="current ? current.id : ''" :data-mode="mode" :data-zoom="zoom.toFixed(2)"
         :data-rotation="rotation" @keydown="onKey">
      <div class="sc-rv-bar">
        <span class="sc-rv-count" data-testid="viewer-count">{{ at + 1 }} / {{ items.length }}</span>
        <span class="sc-rv-title">{{ current ? current.title : '' }}</span>
        <span class="sc-rv-grow"></span>
        <button v-for="b in buttons" :key="b.key" class="sc-rv-btn" :title="b.title" :aria-label="b.title"
                :data-testid="'viewer-' + b.key" :data-active="b.active ? 'true' : 'false'" @click="b.run">
          <i class="material-icons">{{ b.icon }}</i>
        </button>
        <a v-if="current" class="sc-rv-btn" :href="current.download" title="Download (D)" aria-label="Download"
           data-testid="viewer-download"><i class="material-icons">download</i></a>
      </div>
      <div class="sc-rv-stage" ref="stage" @wheel.prevent="onWheel" @pointerdown="onDown" @pointermove="onMove"
           @pointerup="onUp" @pointercancel="onUp" @dblclick="fit">
        <template v-if="mode === 'single' && current">
          <div class="sc-rv-frame" :style="transform">
            <video v-if="current.kind === 'video'" ref="video" :src="current.url" :poster="current.poster"
                   class="sc-rv-media" loop playsinline data-testid="viewer-video" @timeupdate="onTime"
                   @loadedmetadata="onTime" @play="playing = true" @pause="playing = false"></video>
            <img v-else :src="current.url" class="sc-rv-media" alt="" draggable="false" data-testid="viewer-image">
          </div>
        </template>
        <div v-else-if="mode === 'compare'" class="sc-rv-grid" :data-count="compared.length" data-testid="viewer-compare-grid">
          <div v-for="c in compared" :key="c.id" class="sc-rv-cell" :data-item-id="c.id">
            <div class="sc-rv-frame" :style="transform">
              <video v-if="c.kind === 'video'" :src="c.url" :poster="c.poster" class="sc-rv-media" muted loop autoplay
                     playsinline></video>
              <img v-else :src="c.url" class="sc-rv-media" alt="" draggable="false">
            </div>
            <span class="sc-rv-label">{{ c.title }}</span>
          </div>
        </div>
        <div v-else-if="mode === 'wipe' && compared.length > 1" class="sc-rv-wipe" data-testid="viewer-wipe-stage">
          <div class="sc-rv-frame" :style="transform">
            <img v-if="compared[1].kind === 'image'" :src="compared[1].url" class="sc-rv-media" alt="" draggable="false">
            <video v-else :src="compared[1].url" class="sc-rv-media" muted loop autoplay playsinline></video>
          </div>
          <div class="sc-rv-frame" :style="[transform, {clipPath: 'inset(0 ' + (100 - wipe) + '% 0 0)'}]">
            <img v-if="compared[0].kind === 'image'" :src="compared[0].url" class="sc-rv-media" alt="" draggable="false">
            <video v-else :src="compared[0].url" class="sc-rv-media" muted loop autoplay playsinline></video>
          </div>
          <div class="sc-rv-wipe-line" data-testid="viewer-wipe-handle" :style="{left: wipe + '%'}"></div>
          <span class="sc-rv-label sc-rv-a">A · {{ compared[0].title }}</span>
          <span class="sc-rv-label sc-rv-b">B · {{ compared[1].title }}</span>
        </div>
        <div v-if="meta && current && mode === 'single'" class="sc-rv-meta" data-testid="viewer-meta">
          <div v-for="row in current.meta" :key="row[0]"><b>{{ row[0] }}</b> {{ row[1] }}</div>
        </div>
      </div>
      <div v-if="mode === 'single' && current && current.kind === 'video'" class="sc-rv-video" data-testid="viewer-video-bar">
        <button class="sc-rv-btn" :title="playing ? 'Pause (space)' : 'Play (space)'" data-testid="viewer-play"
                @click="togglePlay"><i class="material-icons">{{ playing ? 'pause' : 'play_arrow' }}</i></button>
        <button class="sc-rv-btn" title="Previous frame (,)" @click="step(-1)"><i class="material-icons">navigate_before</i></button>
        <button class="sc-rv-btn" title="Next frame (.)" @click="step(1)"><i class="material-icons">navigate_next</i></button>
        <input type="range" class="sc-rv-scrub" min="0" :max="duration || 0" step="0.001" :value="time"
               aria-label="Scrub" data-testid="viewer-scrub" @input="scrub($event.target.value)">
        <span class="sc-rv-time" data-testid="viewer-time">{{ time.toFixed(2) }} / {{ duration.toFixed(2) }} s</span>
        <button class="sc-rv-btn sc-rv-speed" title="Speed ([ and ])" data-testid="viewer-speed" @click="cycleSpeed(1)">{{ speed }}×</button>
      </div>
      <div v-if="mode !== 'single'" class="sc-rv-strip" data-testid="viewer-strip">
        <span class="sc-rv-hint">Pick 2–4 to compare:</span>
        <button v-for="(it, i) in items" :key="it.id" class="sc-rv-pick" :data-item-id="it.id"
                :data-picked="picked.includes(it.id) ? 'true' : 'false'" :title="it.title" @click="togglePick(it.id)">
          <img :src="it.poster || it.url" alt="" loading="lazy" draggable="false">
        </button>
      </div>
    </div>`,
  props: {
    items: { type: Array, default: () => [] },
    index: { type: Number, default: 0 },
    fps: { type: Number, default: 24 },
  },
  data() {
    return {
      at: 0, zoom: 1, x: 0, y: 0, rotation: 0, meta: false, mode: "single", picked: [], wipe: 50,
      playing: false, time: 0, duration: 0, speed: 1, drag: null,
    };
  },
  computed: {
    current() { return this.items[this.at] || null; },
    compared() { return this.picked.map((id) => this.items.find((it) => it.id === id)).filter(Boolean); },
    transform() {
      return { transform: `translate(${this.x}px, ${this.y}px) scale(${this.zoom}) rotate(${this.rotation}deg)` };
    },
    buttons() {
      return [
        { key: "prev", icon: "chevron_left", title: "Previous (←)", run: () => this.go(-1) },
        { key: "next", icon: "chevron_right", title: "Next (→)", run: () => this.go(1) },
        { key: "zoom-out", icon: "zoom_out", title: "Zoom out (-)", run: () => this.zoomBy(1 / ZOOM_STEP) },
        { key: "zoom-in", icon: "zoom_in", title: "Zoom in (+)", run: () => this.zoomBy(ZOOM_STEP) },
        { key: "fit", icon: "fit_screen", title: "Fit to screen (0)", run: () => this.fit() },
        { key: "rotate", icon: "rotate_right", title: "Rotate (R)", run: () => this.rotate() },
        { key: "info", icon: "info", title: "Details (I)", active: this.meta, run: () => (this.meta = !this.meta) },
        { key: "compare", icon: "view_column", title: "Compare side by side (C)", active: this.mode === "compare",
          run: () => this.setMode("compare") },
        { key: "wipe", icon: "compare", title: "A/B wipe (W)", active: this.mode === "wipe", run: () => this.setMode("wipe") },
        { key: "link", icon: "link", title: "Copy a link to this result (L)", run: () => this.copyLink() },
        { key: "close", icon: "close", title: "Close (Esc)", run: () => this.$emit("close") },
      ];
    },
  },
  watch: {
    index: { immediate: true, handler(v) { this.at = clamp(v || 0, 0, Math.max(0, this.items.length - 1)); } },
    at() { this.fit(); this.time = 0; this.duration = 0; this.playing = false; },
  },
  mounted() { this.$nextTick(() => this.$refs.root && this.$refs.root.focus()); },
  methods: {
    go(delta) {
      if (!this.items.length) return;
      this.at = (this.at + delta + this.items.length) % this.items.length;
      this.$emit("index", { index: this.at, id: this.current.id });
    },
    zoomBy(factor, cx = 0, cy = 0) {
      const next = clamp(this.zoom * factor, MIN_ZOOM, MAX_ZOOM);
      const k = next / this.zoom;
      this.x = cx - (cx - this.x) * k; // keep the point under the cursor where it is
      this.y = cy - (cy - this.y) * k;
      this.zoom = next;
    },
    fit() { this.zoom = 1; this.x = 0; this.y = 0; this.rotation = 0; },
    rotate() { this.rotation = (this.rotation + 90) % 360; },
    setMode(mode) {
      if (this.mode === mode) { this.mode = "single"; return; }
      if (this.picked.length < 2 && this.items.length > 1) {
        const other = this.items[(this.at + 1) % this.items.length];
        this.picked = [this.current.id, other.id];
      }
      this.mode = mode;
      this.fit();
    },
    togglePick(id) {
      if (this.picked.includes(id)) this.picked = this.picked.filter((p) => p !== id);
      else if (this.picked.length < 4) this.picked = [...this.picked, id];
      else this.picked = [...this.picked.slice(1), id];
    },
    onWheel(e) {
      const box = this.$refs.stage.getBoundingClientRect();
      const cx = e.clientX - box.left - box.width / 2;
      const cy = e.clientY - box.top - box.height / 2;
      this.zoomBy(e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, cx, cy);
    },
    onDown(e) {
      if (e.button !== 0) return;
      const box = this.$refs.stage.getBoundingClientRect();
      const wiping = this.mode === "wipe" && Math.abs(e.clientX - box.left - (box.width * this.wipe) / 100) < 24;
      this.drag = { sx: e.clientX, sy: e.clientY, x: this.x, y: this.y, wiping, box };
      this.$refs.stage.setPointerCapture(e.pointerId);
    },
    onMove(e) {
      const d = this.drag;
      if (!d) return;
      if (d.wiping) this.wipe = clamp(((e.clientX - d.box.left) / d.box.width) * 100, 0, 100);
      else { this.x = d.x + e.clientX - d.sx; this.y = d.y + e.clientY - d.sy; }
    },
    onUp() { this.drag = null; },
    video() { return this.$refs.video || null; },
    togglePlay() { const v = this.video(); if (v) (v.paused ? v.play() : v.pause()); },
    step(frames) {
      const v = this.video();
      if (!v) return;
      v.pause();
      v.currentTime = clamp(v.currentTime + frames / (this.current.fps || this.fps), 0, v.duration || 0);
    },
    scrub(value) { const v = this.video(); if (v) v.currentTime = Number(value); },
    cycleSpeed(delta) {
      const i = clamp(SPEEDS.indexOf(this.speed) + delta, 0, SPEEDS.length - 1);
      this.speed = SPEEDS[i];
      const v = this.video();
      if (v) v.playbackRate = this.speed;
    },
    onTime() { const v = this.video(); if (v) { this.time = v.currentTime || 0; this.duration = v.duration || 0; } },
    copyLink() {
      if (!this.current) return;
      const url = new URL(this.current.share, window.location.origin).href;
      if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
      this.$emit("copied", { url });
    },
    onKey(e) {
      if (e.target.tagName === "INPUT" && e.key !== "Escape") return;
      const actions = {
        ArrowLeft: () => this.go(-1), ArrowRight: () => this.go(1), "+": () => this.zoomBy(ZOOM_STEP),
        "=": () => this.zoomBy(ZOOM_STEP), "-": () => this.zoomBy(1 / ZOOM_STEP), 0: () => this.fit(),
        f: () => this.fit(), r: () => this.rotate(), i: () => (this.meta = !this.meta), " ": () => this.togglePlay(),
        ",": () => this.step(-1), ".": () => this.step(1), "[": () => this.cycleSpeed(-1), "]": () => this.cycleSpeed(1),
        c: () => this.setMode("compare"), w: () => this.setMode("wipe"), l: () => this.copyLink(),
        d: () => this.current && window.open(this.current.download, "_self"), Escape: () => this.$emit("close"),
      };
      const run = actions[e.key];
      if (!run || e.ctrlKey || e.metaKey || e.altKey) return;
      e.preventDefault();
      e.stopPropagation();
      run();
    },
  },
};
