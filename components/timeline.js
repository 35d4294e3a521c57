// StoryCanvas timeline editor: one scene's track (Python side: components/timeline.py).
//
// Everything that happens while the pointer moves stays in this file: positions, snapping,
// live overlap checks, the box selection and the ruler are computed here, and Python receives
// only the result of a gesture (move, trim, select, playhead, zoom, open, context, key).
// After a drop the dragged position stays on screen until Python sends the clips again
// (setting them unchanged makes the clip snap back).

const MIN_PPF = 0.05;
const MAX_PPF = 40;
const ZOOM_STEP = 1.5;
const SNAP_PX = 8; // snapping reach in screen pixels
const DRAG_PX = 3; // movement before a press becomes a drag
const EDGE_PX = 6; // trim handle width
const DOUBLE_MS = 400;
const ZOOM_EMIT_MS = 150;
const AUTOSCROLL_PX = 28;
const ORIGIN = 12; // frame 0 sits this far from the left edge, so the playhead head stays visible

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const pad2 = (n) => String(n).padStart(2, "0");
const roundZoom = (v) => Math.round(clamp(v, MIN_PPF, MAX_PPF) * 1e4) / 1e4;
const nominalFps = (fps) => Math.max(1, Math.round(fps || 24));

export function timecode(frame, fps) {
  const base = nominalFps(fps);
  const sign = frame < 0 ? "-" : "";
  const f = Math.abs(Math.round(frame));
  const secs = Math.floor(f / base);
  return `${sign}${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}:${pad2(f % base)}`;
}

function clockText(secs) {
  // whole seconds as 12s, 1:05 or 1:02:03
  if (secs < 60) return `${secs}s`;
  const h = Math.floor(secs / 3600);
  const m = Math.floor(secs / 60) % 60;
  const s = secs % 60;
  return h ? `${h}:${pad2(m)}:${pad2(s)}` : `${m}:${pad2(s)}`;
}

export function durationText(frames, fps, mode) {
  if (mode === "frames") return `${frames}f`;
  if (mode === "timecode") return timecode(frames, fps).replace(/^(00:){1,2}/, ""); // 02:12, 01:05:00
  const secs = Math.round((frames / fps) * 100) / 100;
  if (secs < 60) return `${secs}s`;
  const m = Math.floor(secs / 60);
  const rest = Math.round((secs - m * 60) * 100) / 100;
  return `${m}:${rest < 10 ? "0" : ""}${rest}`;
}

function rulerSteps(mode, fps) {
  if (mode === "frames") {
    return [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000];
  }
  const base = nominalFps(fps);
  const unit = mode === "timecode" ? base : fps; // frames in one ruler second
  const steps = [];
  for (let d = 1; d < base; d++) if (base % d === 0) steps.push(d);
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400]) steps.push(s * unit);
  return steps;
}

function rulerLabel(frame, mode, fps, major) {
  if (mode === "frames") return String(Math.round(frame));
  if (mode === "timecode") return timecode(frame, fps);
  const base = nominalFps(fps);
  if (major >= base - 1e-6) return clockText(Math.round(frame / fps));
  const f = Math.round(frame);
  const s = Math.floor(f / base);
  const ff = f - s * base;
  return ff === 0 ? clockText(s) : `+${ff}f`;
}

function statusKind(status) {
  const s = String(status || "").toLowerCase();
  if (!s) return "";
  if (/fail|error|cancel/.test(s)) return "failed";
  if (/run|generat|render|%/.test(s)) return "running";
  if (/queue|pending|wait/.test(s)) return "queued";
  if (/done|ready|complete|ok|success/.test(s)) return "done";
  return "neutral";
}

function nearest(sorted, value) {
  // the element of a sorted array closest to value (or null for an empty array)
  let lo = 0;
  let hi = sorted.length - 1;
  if (hi < 0) return null;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  const a = sorted[lo];
  const b = lo > 0 ? sorted[lo - 1] : a;
  return Math.abs(b - value) < Math.abs(a - value) ? b : a;
}

const ClipCard = {
  props: {
    clip: Object,
    ppf: Number,
    fps: Number,
    unit: String,
    sel: Boolean,
    live: Object,
    hot: Number,
  },
  computed: {
    start() {
      return this.live ? this.live.start : this.clip.start_frame;
    },
    dur() {
      return this.live ? this.live.dur : this.clip.duration_frames;
    },
    width() {
      return Math.max(2, this.dur * this.ppf);
    },
    size() {
      const w = this.width;
      return w < 22 ? "tiny" : w < 64 ? "small" : w < 130 ? "medium" : "large";
    },
    edgeWidth() {
      // narrow cards keep their middle for moving; below 12 px they can only be moved
      return this.width < 12 ? 0 : Math.min(EDGE_PX, this.width / 4);
    },
    durText() {
      return durationText(this.dur, this.fps, this.unit);
    },
    kind() {
      return statusKind(this.clip.status);
    },
    progress() {
      const m = /(\d+(?:\.\d+)?)\s*%/.exec(String(this.clip.status || ""));
      return m ? clamp(Number(m[1]), 0, 100) : null;
    },
    warnings() {
      const w = [];
      if (this.clip.overlap) w.push("Overlaps another clip");
      if (this.clip.has_prompts === false) w.push("No prompts yet");
      return w;
    },
    tip() {
      const parts = [this.clip.label || `Clip ${this.clip.id}`, this.durText];
      if (this.clip.status) parts.push(this.clip.status);
      return parts.concat(this.warnings).join(" · ");
    },
    cardStyle() {
      return {
        left: `${ORIGIN + this.start * this.ppf}px`,
        width: `${this.width}px`,
        "--clip": this.clip.color || "#5c7cfa",
      };
    },
  },
  // State is shown through data attributes and v-show, never through class changes or added nodes:
  // NiceGUI's Tailwind runtime watches those and restyles the whole page, which would stall a drag.
  template: `
    <div class="sc-tl-clip" :style="cardStyle" :data-clip-id="clip.id" :data-start-frame="start"
         :data-duration-frames="dur" :data-size="size" :data-selected="sel ? 'true' : 'false'"
         :data-live="live ? 'true' : 'false'" :data-overlap="hot > 0 ? 'true' : 'false'"
         role="option" :id="'sc-tl-clip-' + clip.id" :aria-label="tip" :aria-selected="sel ? 'true' : 'false'"
         :title="live ? null : tip">
      <img v-if="clip.thumbnail" v-show="size === 'large'" class="sc-tl-thumb" :src="clip.thumbnail" alt=""
           draggable="false" loading="lazy">
      <div v-show="size !== 'tiny'" class="sc-tl-body">
        <div class="sc-tl-title">
          <span class="sc-tl-label">{{ clip.label || 'Clip ' + clip.id }}</span>
          <i v-show="warnings.length" class="material-icons sc-tl-warn" data-testid="clip-warning"
             :aria-label="warnings.join(', ')">warning_amber</i>
        </div>
        <div v-show="size !== 'small'" class="sc-tl-meta">
          <span class="sc-tl-dur">{{ durText }}</span>
          <span v-show="clip.status" class="sc-tl-status" :data-kind="kind"
                data-testid="clip-status">{{ clip.status }}</span>
        </div>
      </div>
      <div v-show="progress !== null && kind === 'running'" class="sc-tl-progress"
           :style="{width: (progress || 0) + '%'}"></div>
      <div v-show="hot === 2" class="sc-tl-overlap-tag" data-testid="overlap-marker">overlap</div>
      <div v-show="edgeWidth" class="sc-tl-edge sc-tl-edge-start" data-edge="start" :style="{width: edgeWidth + 'px'}"></div>
      <div v-show="edgeWidth" class="sc-tl-edge sc-tl-edge-end" data-edge="end" :style="{width: edgeWidth + 'px'}"></div>
    </div>`,
};

export default {
  components: { "sc-tl-clip": ClipCard },
  template: `
    <div class="sc-tl" ref="root" tabindex="0" role="listbox" aria-multiselectable="true"
         aria-label="Clips on the timeline (Up and Down choose a clip, Enter edits it, Left and Right move the playhead)"
         :aria-activedescendant="activeId" @keydown="onKey"
         :data-revision="revision" :data-px-per-frame="ppf" :data-ruler="rulerMode" :data-snap="snapOn ? 'true' : 'false'">
      <canvas ref="canvas" class="sc-tl-canvas"></canvas>
      <div ref="scroller" class="sc-tl-scroller" @scroll="onScroll">
        <div class="sc-tl-content" :style="{width: contentWidth + 'px'}">
          <div class="sc-tl-ruler" ref="ruler" data-testid="timeline-ruler"
               @pointerdown="rulerDown" @pointermove="rulerMove" @pointerup="rulerUp" @pointercancel="rulerUp"></div>
          <div class="sc-tl-track" ref="track" data-testid="timeline-track" role="presentation"
               @pointerdown="trackDown" @pointermove="trackMove" @pointerup="trackUp" @pointercancel="trackCancel"
               @contextmenu="onContext">
            <sc-tl-clip v-for="c in items" :key="c.id" :clip="c" :ppf="ppf" :fps="fps" :unit="rulerMode"
                        :sel="selSet.has(c.id)" :live="live[c.id]" :hot="hot[c.id] || 0"></sc-tl-clip>
            <div v-show="box" class="sc-tl-box" data-testid="timeline-box" :style="boxStyle"></div>
          </div>
          <div v-show="snapX !== null" class="sc-tl-snapline" data-testid="timeline-snapline"
               :style="{left: origin + (snapX || 0) + 'px'}"></div>
          <div class="sc-tl-playhead" data-testid="timeline-playhead" :data-frame="head"
               :style="{left: origin + head * ppf + 'px'}"></div>
        </div>
      </div>
    </div>`,
  props: {
    clips: { type: Array, default: () => [] },
    revision: { type: Number, default: 0 },
    fps: { type: Number, default: 24 },
    sceneFrames: { type: Number, default: 0 },
    pxPerFrame: { type: Number, default: 4 },
    ruler: { type: String, default: "seconds" },
    snap: { type: Boolean, default: true },
    playheadFrame: { type: Number, default: 0 },
    beatFrames: { type: Array, default: () => [] },
    selectedIds: { type: Array, default: () => [] },
  },
  emits: ["move", "trim", "select", "playhead", "open", "context", "zoom", "key"],
  data() {
    return {
      items: this.copyClips(this.clips),
      ppf: roundZoom(this.pxPerFrame),
      rulerMode: this.ruler,
      snapOn: this.snap,
      head: Math.max(0, Math.round(this.playheadFrame)),
      beats: [...(this.beatFrames || [])].map(Number).sort((a, b) => a - b),
      sceneLen: Math.max(0, Math.round(this.sceneFrames)),
      selected: [...(this.selectedIds || [])],
      live: {}, // id -> {start, dur} while dragging
      hot: {}, // id -> 1 (overlapped neighbour) or 2 (dragged clip that overlaps)
      snapX: null,
      box: null,
      viewW: 1000,
      origin: ORIGIN,
    };
  },
  computed: {
    selSet() {
      return new Set(this.selected);
    },
    activeId() {
      return this.selected.length ? `sc-tl-clip-${this.selected[this.selected.length - 1]}` : null;
    },
    endFrame() {
      let end = this.sceneLen;
      for (const c of this.items) {
        const l = this.live[c.id];
        end = Math.max(end, l ? l.start + l.dur : c.start_frame + c.duration_frames);
      }
      return end;
    },
    contentWidth() {
      return Math.ceil(ORIGIN + this.endFrame * this.ppf + Math.max(240, this.viewW * 0.3));
    },
    boxStyle() {
      const b = this.box;
      if (!b) return {};
      return {
        left: `${ORIGIN + Math.min(b.x0, b.x1)}px`,
        width: `${Math.abs(b.x1 - b.x0)}px`,
        top: `${Math.min(b.y0, b.y1)}px`,
        height: `${Math.abs(b.y1 - b.y0)}px`,
      };
    },
  },
  watch: {
    revision() {
      this.syncClips(this.clips);
    },
    ppf() {
      this.scheduleDraw();
    },
    rulerMode() {
      this.scheduleDraw();
    },
    beats() {
      this.scheduleDraw();
    },
    sceneLen() {
      this.scheduleDraw();
    },
  },
  mounted() {
    // geometry kept out of Vue's reactivity and read without forcing a layout during drags
    this.drag = null;
    this.scrub = null;
    this.lastTap = null;
    this.scrollX = 0;
    this.viewportW = this.$refs.scroller.clientWidth;
    this.trackBottom = this.$refs.scroller.clientHeight;
    this.rulerH = this.$refs.ruler.offsetHeight;
    this.onWheel = (e) => this.wheel(e);
    this.$refs.scroller.addEventListener("wheel", this.onWheel, { passive: false });
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.$refs.root);
    // The canvas takes its colours from the theme (timeline.css): redraw when the page's theme changes.
    this.themeWatch = new MutationObserver(() => this.draw());
    this.themeWatch.observe(document.body, { attributes: true, attributeFilter: ["class"] });
    this.resize();
  },
  beforeUnmount() {
    this.resizer?.disconnect();
    this.themeWatch?.disconnect();
    this.$refs.scroller?.removeEventListener("wheel", this.onWheel);
    clearTimeout(this.zoomTimer);
    cancelAnimationFrame(this.drawFrame);
    cancelAnimationFrame(this.scrollFrame);
  },
  methods: {
    // ----- state from Python -------------------------------------------------------------
    copyClips(clips) {
      return (clips || []).map((c) => ({ ...c }));
    },
    syncClips(clips) {
      // reuse the objects of unchanged clips so that only changed cards re-render
      const old = new Map(this.items.map((c) => [c.id, c]));
      this.items = (clips || []).map((c) => {
        const mine = old.get(c.id);
        if (!mine) return { ...c };
        for (const key of Object.keys(mine)) if (!(key in c)) delete mine[key];
        Object.assign(mine, c);
        return mine;
      });
      const ids = new Set(this.items.map((c) => c.id));
      this.selected = this.selected.filter((id) => ids.has(id));
      this.hot = {};
      this.rebaseDrag();
    },
    rebaseDrag() {
      // new clips arrived mid-gesture (another edit, or a page that answers `select` with set_clips):
      // keep dragging from the new positions
      const d = this.drag;
      if (!d || d.kind === "box") return;
      if (d.kind === "move") {
        const moving = new Set(d.ids);
        d.orig = this.items
          .filter((c) => moving.has(c.id))
          .map((c) => ({ id: c.id, start: c.start_frame, dur: c.duration_frames }));
        if (!d.orig.length) return this.cancelDrag();
        d.minStart = Math.min(...d.orig.map((o) => o.start));
        d.targets = this.snapTargets(moving);
      } else {
        const c = this.byId(d.id);
        if (!c) return this.cancelDrag();
        d.start = c.start_frame;
        d.dur = c.duration_frames;
        d.targets = this.snapTargets(new Set([d.id]));
      }
      if (d.moved) this.updateDrag();
    },
    setPlayhead(frame) {
      const before = ORIGIN + this.head * this.ppf - this.scrollX;
      this.head = Math.max(0, Math.round(frame));
      const x = ORIGIN + this.head * this.ppf - this.scrollX;
      if (before >= 0 && before <= this.viewportW && (x < 0 || x > this.viewportW)) {
        this.setScroll(ORIGIN + this.head * this.ppf - this.viewportW * 0.1); // follow playback
      }
    },
    setZoom(ppf) {
      this.zoomAt(ppf, null);
    },
    zoomIn() {
      this.zoomAt(this.ppf * ZOOM_STEP, null);
    },
    zoomOut() {
      this.zoomAt(this.ppf / ZOOM_STEP, null);
    },
    zoomToFit() {
      const frames = Math.max(1, this.endFrame);
      this.ppf = roundZoom((this.viewportW - ORIGIN - 24) / frames);
      this.$nextTick(() => {
        this.setScroll(0);
        this.scheduleDraw();
      });
      this.emitZoomSoon();
    },
    setRuler(mode) {
      this.rulerMode = mode;
    },
    setSnap(on) {
      this.snapOn = !!on;
    },
    setSelected(ids) {
      this.selected = [...new Set(ids)];
    },
    setBeats(beats) {
      this.beats = [...(beats || [])].map(Number).sort((a, b) => a - b);
    },
    setSceneFrames(frames) {
      this.sceneLen = Math.max(0, Math.round(frames));
    },

    // ----- helpers -------------------------------------------------------------------------
    byId(id) {
      return this.items.find((c) => c.id === id);
    },
    viewLeft() {
      // the scroller's screen x: measured once per gesture, not on every pointer move
      const g = this.drag || this.scrub;
      return g ? g.viewLeft : this.$refs.scroller.getBoundingClientRect().left;
    },
    contentX(e) {
      return e.clientX - this.viewLeft() + this.scrollX - ORIGIN;
    },
    trackY(e) {
      return e.clientY - (this.drag ? this.drag.trackTop : this.$refs.track.getBoundingClientRect().top);
    },
    setScroll(x) {
      const sc = this.$refs.scroller;
      sc.scrollLeft = x;
      this.scrollX = sc.scrollLeft;
    },
    onScroll() {
      this.scrollX = this.$refs.scroller.scrollLeft;
      this.scheduleDraw();
      if (this.drag && this.drag.moved) this.updateDrag();
    },
    setSelection(ids, emit) {
      const next = [...new Set(ids)];
      const changed = next.length !== this.selected.length || next.some((id, i) => id !== this.selected[i]);
      this.selected = next;
      if (emit && changed) this.$emit("select", { clip_ids: [...next] });
    },
    emitKey(key, extra) {
      this.$emit("key", { key, clip_ids: [...this.selected], playhead: this.head, ...(extra || {}) });
    },
    emitZoomSoon() {
      clearTimeout(this.zoomTimer);
      this.zoomTimer = setTimeout(() => this.$emit("zoom", { px_per_frame: this.ppf }), ZOOM_EMIT_MS);
    },
    zoomAt(ppf, anchorX) {
      const next = roundZoom(ppf);
      if (anchorX === null) {
        const headX = ORIGIN + this.head * this.ppf - this.scrollX;
        anchorX = headX >= 0 && headX <= this.viewportW ? headX : this.viewportW / 2;
      }
      const frame = (this.scrollX + anchorX - ORIGIN) / this.ppf;
      this.ppf = next;
      this.$nextTick(() => {
        this.setScroll(ORIGIN + frame * next - anchorX);
        this.scheduleDraw();
      });
      this.emitZoomSoon();
    },
    ensureVisible(frame) {
      const x = ORIGIN + frame * this.ppf;
      if (x < this.scrollX + 16) this.setScroll(x - 16);
      else if (x > this.scrollX + this.viewportW - 16) this.setScroll(x - this.viewportW + 16);
    },
    moveHead(frame) {
      this.head = clamp(Math.round(frame), 0, Math.max(this.endFrame, 0));
      this.ensureVisible(this.head);
      this.$emit("playhead", { frame: this.head });
    },

    // ----- wheel: ctrl zooms around the pointer, otherwise the track scrolls sideways -----
    wheel(e) {
      const sc = this.$refs.scroller;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        if (this.drag && this.drag.moved) return; // no zooming under a clip being dragged
        const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
        const anchor = e.clientX - sc.getBoundingClientRect().left;
        this.zoomAt(this.ppf * Math.exp(-clamp(delta, -600, 600) * 0.0025), anchor);
      } else if (Math.abs(e.deltaY) > Math.abs(e.deltaX) && !e.shiftKey && sc.scrollWidth > sc.clientWidth) {
        e.preventDefault();
        this.setScroll(this.scrollX + (e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY));
      }
    },

    // ----- ruler: click or drag sets the playhead ------------------------------------------
    rulerDown(e) {
      if (e.button !== 0) return;
      this.$refs.root.focus({ preventScroll: true });
      this.$refs.ruler.setPointerCapture(e.pointerId);
      this.scrub = { pointerId: e.pointerId, viewLeft: this.$refs.scroller.getBoundingClientRect().left };
      this.head = clamp(Math.round(this.contentX(e) / this.ppf), 0, this.endFrame);
    },
    rulerMove(e) {
      if (!this.scrub || e.pointerId !== this.scrub.pointerId) return;
      this.head = clamp(Math.round(this.contentX(e) / this.ppf), 0, this.endFrame);
    },
    rulerUp(e) {
      if (!this.scrub || e.pointerId !== this.scrub.pointerId) return;
      this.scrub = null;
      if (this.$refs.ruler.hasPointerCapture(e.pointerId)) this.$refs.ruler.releasePointerCapture(e.pointerId);
      this.$emit("playhead", { frame: this.head });
    },

    // ----- track: select, move, trim, box select -------------------------------------------
    trackDown(e) {
      const el = e.target.closest("[data-clip-id]");
      const id = el ? Number(el.dataset.clipId) : null;
      if (e.button !== 0) {
        if (e.button === 2 && id !== null && !this.selSet.has(id)) this.setSelection([id], true);
        return;
      }
      if (this.drag) return;
      this.$refs.root.focus({ preventScroll: true });
      this.$refs.track.setPointerCapture(e.pointerId);
      const viewLeft = this.$refs.scroller.getBoundingClientRect().left;
      const trackTop = this.$refs.track.getBoundingClientRect().top;
      const x = e.clientX - viewLeft + this.scrollX - ORIGIN;
      const additive = e.shiftKey || e.ctrlKey || e.metaKey;
      const base = { pointerId: e.pointerId, viewLeft, trackTop, x0: x, moved: false, last: e };
      if (id === null) {
        const y = this.trackY(e);
        const prev = [...this.selected];
        this.drag = { ...base, kind: "box", y0: y, additive, prev, before: additive ? prev : [] };
        return;
      }
      const clip = this.byId(id);
      const edge = e.target.closest("[data-edge]");
      if (edge) {
        if (!(this.selected.length === 1 && this.selected[0] === id)) this.setSelection([id], true);
        this.drag = { ...base, kind: "trim", edge: edge.dataset.edge, id, start: clip.start_frame, dur: clip.duration_frames };
        this.drag.targets = this.snapTargets(new Set([id]));
        return;
      }
      let toggleOff = false;
      let collapse = false;
      if (additive) {
        if (this.selSet.has(id)) toggleOff = true;
        else this.setSelection([...this.selected, id], true);
      } else if (!this.selSet.has(id)) {
        this.setSelection([id], true);
      } else if (this.selected.length > 1) {
        collapse = true;
      }
      const ids = [...this.selected];
      const moving = new Set(ids);
      const orig = this.items
        .filter((c) => moving.has(c.id))
        .map((c) => ({ id: c.id, start: c.start_frame, dur: c.duration_frames }));
      const minStart = Math.min(...orig.map((o) => o.start));
      this.drag = { ...base, kind: "move", id, ids, orig, minStart, toggleOff, collapse, delta: 0 };
      this.drag.targets = this.snapTargets(moving);
    },
    snapTargets(exclude) {
      const t = [0, this.head];
      if (this.sceneLen > 0) t.push(this.sceneLen);
      for (const b of this.beats) t.push(b);
      for (const c of this.items) {
        if (exclude.has(c.id)) continue;
        t.push(c.start_frame, c.start_frame + c.duration_frames);
      }
      return Float64Array.from(new Set(t)).sort();
    },
    snapFrame(value, targets, free) {
      // -> {frame, target}: whole frames always, an edge/playhead/beat within reach unless free
      if (!free) {
        const t = nearest(targets, value);
        if (t !== null && Math.abs(t - value) * this.ppf <= SNAP_PX) return { frame: t, target: t };
      }
      return { frame: Math.round(value), target: null };
    },
    trackMove(e) {
      const d = this.drag;
      if (!d || e.pointerId !== d.pointerId) return;
      d.last = e;
      this.updateDrag();
      this.autoScroll();
    },
    updateDrag() {
      const d = this.drag;
      const e = d.last;
      const x = this.contentX(e);
      const dx = x - d.x0;
      if (!d.moved) {
        const dy = d.kind === "box" ? this.trackY(e) - d.y0 : 0;
        if (Math.abs(dx) < DRAG_PX && Math.abs(dy) < DRAG_PX) return;
        d.moved = true;
      }
      const free = !this.snapOn || e.shiftKey;
      const raw = dx / this.ppf;
      if (d.kind === "move") this.dragMove(d, raw, free);
      else if (d.kind === "trim") this.dragTrim(d, raw, free);
      else this.dragBox(d, x, this.trackY(e));
    },
    dragMove(d, raw, free) {
      let delta = Math.round(raw);
      let target = null;
      if (!free) {
        let best = null;
        for (const o of d.orig) {
          for (const edge of [o.start, o.start + o.dur]) {
            const t = nearest(d.targets, edge + raw);
            if (t === null) continue;
            const dist = Math.abs(t - edge - raw);
            if (dist * this.ppf <= SNAP_PX && (best === null || dist < best.dist)) best = { dist, delta: t - edge, t };
          }
        }
        if (best) {
          delta = best.delta;
          target = best.t;
        }
      }
      if (delta < -d.minStart) {
        delta = -d.minStart;
        target = null;
      }
      d.delta = delta;
      const live = {};
      const moved = d.orig.map((o) => ({ id: o.id, start: o.start + delta, end: o.start + delta + o.dur }));
      for (const o of d.orig) live[o.id] = { start: o.start + delta, dur: o.dur };
      this.live = live;
      this.snapX = target === null ? null : target * this.ppf;
      d.overlaps = this.markOverlaps(moved);
    },
    dragTrim(d, raw, free) {
      const end = d.start + d.dur;
      let start = d.start;
      let stop = end;
      let snapped;
      if (d.edge === "start") {
        snapped = this.snapFrame(d.start + raw, d.targets, free);
        start = clamp(snapped.frame, 0, end - 1);
      } else {
        snapped = this.snapFrame(end + raw, d.targets, free);
        stop = Math.max(d.start + 1, snapped.frame);
      }
      const edgeFrame = d.edge === "start" ? start : stop;
      d.result = { start, dur: stop - start };
      this.live = { [d.id]: d.result };
      this.snapX = snapped.target !== null && snapped.target === edgeFrame ? edgeFrame * this.ppf : null;
      d.overlaps = this.markOverlaps([{ id: d.id, start, end: stop }]);
    },
    dragBox(d, x, y) {
      const h = this.trackBottom - this.rulerH;
      this.box = { x0: d.x0, x1: x, y0: clamp(d.y0, 0, h), y1: clamp(y, 0, h) };
      const lo = Math.min(d.x0, x) / this.ppf;
      const hi = Math.max(d.x0, x) / this.ppf;
      const hits = this.items
        .filter((c) => c.start_frame < hi && c.start_frame + c.duration_frames > lo)
        .map((c) => c.id);
      this.selected = [...new Set([...d.before, ...hits])];
    },
    markOverlaps(moved) {
      const ids = new Set(moved.map((m) => m.id));
      const hot = {};
      let any = false;
      for (const c of this.items) {
        if (ids.has(c.id)) continue;
        const s = c.start_frame;
        const e = s + c.duration_frames;
        for (const m of moved) {
          if (m.start < e && s < m.end) {
            hot[c.id] = 1;
            hot[m.id] = 2;
            any = true;
          }
        }
      }
      this.hot = hot;
      return any;
    },
    autoScroll() {
      if (this.scrollFrame) return;
      const step = () => {
        this.scrollFrame = null;
        const d = this.drag;
        if (!d || !d.moved) return;
        const left = d.viewLeft;
        const right = left + this.viewportW;
        const cx = d.last.clientX;
        let v = 0;
        if (cx < left + AUTOSCROLL_PX) v = -Math.min(24, (left + AUTOSCROLL_PX - cx) / 2);
        else if (cx > right - AUTOSCROLL_PX) v = Math.min(24, (cx - right + AUTOSCROLL_PX) / 2);
        if (!v) return;
        const next = clamp(this.scrollX + v, 0, Math.max(0, this.contentWidth - this.viewportW));
        if (next === this.scrollX) return;
        this.scrollX = next;
        this.$refs.scroller.scrollLeft = next;
        this.updateDrag();
        this.scrollFrame = requestAnimationFrame(step);
      };
      this.scrollFrame = requestAnimationFrame(step);
    },
    trackUp(e) {
      const d = this.drag;
      if (!d || e.pointerId !== d.pointerId) return;
      if (this.$refs.track.hasPointerCapture(e.pointerId)) this.$refs.track.releasePointerCapture(e.pointerId);
      this.drag = null;
      this.snapX = null;
      if (!d.moved) {
        this.live = {};
        this.click(d, e);
        return;
      }
      if (d.kind === "box") {
        this.box = null;
        const now = this.selected;
        this.selected = d.prev;
        this.setSelection(now, true);
        return;
      }
      if (d.kind === "move") {
        for (const o of d.orig) {
          const c = this.byId(o.id);
          if (c) c.start_frame = o.start + d.delta;
        }
        this.live = {};
        if (!d.overlaps) this.hot = {};
        if (d.delta !== 0) {
          this.$emit("move", { clip_ids: d.orig.map((o) => o.id), delta_frames: d.delta, overlaps: !!d.overlaps });
        }
        return;
      }
      const c = this.byId(d.id);
      const r = d.result || { start: d.start, dur: d.dur };
      if (c) {
        c.start_frame = r.start;
        c.duration_frames = r.dur;
      }
      this.live = {};
      if (!d.overlaps) this.hot = {};
      if (r.start !== d.start || r.dur !== d.dur) {
        this.$emit("trim", {
          clip_id: d.id,
          edge: d.edge,
          start_frame: r.start,
          duration_frames: r.dur,
          overlaps: !!d.overlaps,
        });
      }
    },
    click(d, e) {
      // a press without drag: selection rules and double-click detection
      if (d.kind === "box") {
        if (!d.additive) this.setSelection([], true);
        this.lastTap = null;
        return;
      }
      if (d.kind === "move") {
        if (d.toggleOff) this.setSelection(this.selected.filter((id) => id !== d.id), true);
        else if (d.collapse) this.setSelection([d.id], true);
      }
      const now = e.timeStamp || performance.now();
      if (this.lastTap && this.lastTap.id === d.id && now - this.lastTap.t < DOUBLE_MS) {
        this.lastTap = null;
        this.$emit("open", { clip_id: d.id });
      } else {
        this.lastTap = { id: d.id, t: now };
      }
    },
    cancelDrag() {
      const d = this.drag;
      if (d && this.$refs.track.hasPointerCapture(d.pointerId)) this.$refs.track.releasePointerCapture(d.pointerId);
      if (d && d.kind === "box") this.selected = d.prev;
      this.drag = null;
      this.live = {};
      this.hot = {};
      this.box = null;
      this.snapX = null;
    },
    trackCancel(e) {
      if (this.drag && e.pointerId === this.drag.pointerId) this.cancelDrag();
    },
    onContext(e) {
      e.preventDefault();
      const el = e.target.closest("[data-clip-id]");
      const id = el ? Number(el.dataset.clipId) : null;
      if (id !== null && !this.selSet.has(id)) this.setSelection([id], true);
      const frame = Math.max(0, Math.round(this.contentX(e) / this.ppf));
      this.$emit("context", { clip_id: id, x: e.clientX, y: e.clientY, frame });
    },

    // ----- keyboard -------------------------------------------------------------------------
    onKey(e) {
      const mod = e.ctrlKey || e.metaKey;
      const k = e.key;
      const lower = k.length === 1 ? k.toLowerCase() : k;
      const base = nominalFps(this.fps);
      if (k === "Delete" || k === "Backspace") this.emitKey("delete");
      else if (mod && lower === "c") this.emitKey("copy");
      else if (mod && lower === "x") this.emitKey("cut");
      else if (mod && lower === "v") this.emitKey("paste");
      else if (mod && lower === "d") this.emitKey("duplicate");
      else if (mod && lower === "z") this.emitKey(e.shiftKey ? "redo" : "undo");
      else if (mod && lower === "y") this.emitKey("redo");
      else if (mod && lower === "a") {
        this.setSelection(this.items.map((c) => c.id), true);
        this.emitKey("select_all");
      } else if (mod || e.altKey) return;
      else if (lower === "s") this.emitKey("split");
      else if (lower === "g") this.emitKey("generate");
      else if (lower === "n") {
        this.snapOn = !this.snapOn;
        this.emitKey("toggle_snap", { snap: this.snapOn });
      } else if (k === "ArrowUp" || k === "ArrowDown") this.stepSelection(k === "ArrowDown" ? 1 : -1);
      else if (k === "Enter") {
        const id = this.selected.length ? this.selected[this.selected.length - 1] : null;
        if (id === null) return;
        this.$emit("open", { clip_id: id });
      } else if (k === "ArrowLeft") this.moveHead(this.head - (e.shiftKey ? base : 1));
      else if (k === "ArrowRight") this.moveHead(this.head + (e.shiftKey ? base : 1));
      else if (k === "Home") this.moveHead(0);
      else if (k === "End") this.moveHead(this.endFrame);
      else if (k === "+" || k === "=") this.zoomIn();
      else if (k === "-" || k === "_") this.zoomOut();
      else if (lower === "z" && e.shiftKey) this.zoomToFit();
      else if (k === "Escape") {
        if (this.drag) this.cancelDrag();
        else this.setSelection([], true);
      } else return;
      e.preventDefault();
      e.stopPropagation();
    },

    // Keyboard selection: the previous or next clip in time becomes the one selected, its start the playhead,
    // and it scrolls into view; with nothing selected the first (or last) clip is chosen.
    stepSelection(step) {
      const order = this.items.slice().sort((a, b) => a.start_frame - b.start_frame || a.id - b.id);
      if (!order.length) return;
      const current = this.selected.length ? this.selected[this.selected.length - 1] : null;
      let index = order.findIndex((c) => c.id === current);
      index = index < 0 ? (step > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, index + step));
      const clip = order[index];
      this.setSelection([clip.id], true);
      this.moveHead(clip.start_frame);
      const scroller = this.$refs.scroller;
      const left = ORIGIN + clip.start_frame * this.ppf;
      const right = left + clip.duration_frames * this.ppf;
      if (scroller && (left < scroller.scrollLeft || right > scroller.scrollLeft + scroller.clientWidth)) {
        scroller.scrollLeft = Math.max(0, left - 40);
      }
    },

    // ----- canvas: ruler, grid, beats, scene end --------------------------------------------
    resize() {
      const root = this.$refs.root;
      const canvas = this.$refs.canvas;
      if (!root || !canvas) return;
      const dpr = window.devicePixelRatio || 1;
      const w = root.clientWidth;
      const h = root.clientHeight;
      this.viewportW = this.$refs.scroller.clientWidth;
      this.trackBottom = this.$refs.scroller.clientHeight;
      this.rulerH = this.$refs.ruler.offsetHeight;
      this.scrollX = this.$refs.scroller.scrollLeft;
      this.viewW = w;
      canvas.width = Math.max(1, Math.round(w * dpr));
      canvas.height = Math.max(1, Math.round(h * dpr));
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
      this.draw();
    },
    scheduleDraw() {
      if (this.drawFrame) return;
      this.drawFrame = requestAnimationFrame(() => {
        this.drawFrame = null;
        this.draw();
      });
    },
    draw() {
      const canvas = this.$refs.canvas;
      const sc = this.$refs.scroller;
      if (!canvas || !sc) return;
      const ctx = canvas.getContext("2d");
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.width / dpr;
      const h = canvas.height / dpr;
      const trackBottom = this.trackBottom;
      const rulerH = this.rulerH;
      const left = this.scrollX - ORIGIN;
      const ppf = this.ppf;
      const X = (frame) => Math.round(frame * ppf - left) + 0.5;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      const style = getComputedStyle(this.$refs.root);
      const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;

      ctx.fillStyle = color("--sc-tl-ruler-bg", "#121419");
      ctx.fillRect(0, 0, w, rulerH);
      ctx.fillStyle = color("--sc-tl-bg", "#181a20");
      ctx.fillRect(0, rulerH, w, h - rulerH);

      // past the scene's end: darker, hatched
      const endX = this.sceneLen > 0 ? this.sceneLen * ppf - left : null;
      if (endX !== null && endX < w) {
        const from = Math.max(0, endX);
        ctx.fillStyle = color("--sc-tl-past", "#111216");
        ctx.fillRect(from, rulerH, w - from, h - rulerH);
        ctx.save();
        ctx.beginPath();
        ctx.rect(from, rulerH, w - from, trackBottom - rulerH);
        ctx.clip();
        ctx.strokeStyle = color("--sc-tl-hatch", "rgba(255,255,255,0.028)");
        ctx.lineWidth = 1;
        ctx.beginPath();
        const off = left % 12;
        for (let x = from - (h + off); x < w; x += 12) {
          ctx.moveTo(x, trackBottom);
          ctx.lineTo(x + trackBottom, 0);
        }
        ctx.stroke();
        ctx.restore();
      }

      const first = left / ppf;
      const last = (left + w) / ppf;

      // frame grid at frame level
      if (ppf >= 10) {
        ctx.strokeStyle = color("--sc-tl-grid", "rgba(255,255,255,0.025)");
        ctx.beginPath();
        for (let f = Math.floor(first); f <= last; f++) {
          ctx.moveTo(X(f), rulerH);
          ctx.lineTo(X(f), trackBottom);
        }
        ctx.stroke();
      }

      // ticks
      const mode = this.rulerMode;
      const labelPx = mode === "timecode" ? 96 : mode === "seconds" ? 56 : 48;
      const steps = rulerSteps(mode, this.fps);
      const major = steps.find((s) => s * ppf >= labelPx) || steps[steps.length - 1];
      let minor = null;
      for (const s of steps) {
        if (s >= major) break;
        const n = major / s;
        if (Math.abs(n - Math.round(n)) < 1e-6 && s * ppf >= 6) {
          minor = s;
          break;
        }
      }
      ctx.strokeStyle = color("--sc-tl-grid-major", "rgba(255,255,255,0.045)");
      ctx.beginPath();
      for (let i = Math.floor(first / major); i * major <= last; i++) {
        ctx.moveTo(X(i * major), rulerH);
        ctx.lineTo(X(i * major), trackBottom);
      }
      ctx.stroke();

      if (minor) {
        ctx.strokeStyle = color("--sc-tl-tick-minor", "#3a3f4b");
        ctx.beginPath();
        for (let i = Math.floor(first / minor); i * minor <= last; i++) {
          const f = i * minor;
          const n = f / major;
          if (Math.abs(n - Math.round(n)) < 1e-6) continue;
          ctx.moveTo(X(f), rulerH - 5);
          ctx.lineTo(X(f), rulerH);
        }
        ctx.stroke();
      }
      ctx.strokeStyle = color("--sc-tl-tick", "#5a6172");
      ctx.fillStyle = color("--sc-tl-tick-text", "#98a0b3");
      ctx.font = "10px 'Roboto Mono', ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace";
      ctx.textBaseline = "top";
      ctx.beginPath();
      for (let i = Math.max(0, Math.floor(first / major) - 1); i * major <= last; i++) {
        const f = i * major;
        ctx.moveTo(X(f), rulerH - 12);
        ctx.lineTo(X(f), rulerH);
        ctx.fillText(rulerLabel(f, mode, this.fps, major), X(f) + 4, 5);
      }
      ctx.stroke();

      // beat markers
      if (this.beats.length) {
        ctx.strokeStyle = "rgba(250,176,5,0.30)";
        ctx.beginPath();
        for (const b of this.beats) {
          if (b < first - 1 || b > last + 1) continue;
          ctx.moveTo(X(b), rulerH);
          ctx.lineTo(X(b), trackBottom);
        }
        ctx.stroke();
        ctx.fillStyle = "rgba(250,176,5,0.75)";
        for (const b of this.beats) {
          if (b < first - 1 || b > last + 1) continue;
          const x = X(b);
          ctx.beginPath();
          ctx.moveTo(x - 3, rulerH);
          ctx.lineTo(x + 3, rulerH);
          ctx.lineTo(x, rulerH - 4);
          ctx.fill();
        }
      }

      // scene end line
      if (endX !== null && endX >= 0 && endX <= w) {
        ctx.strokeStyle = color("--sc-tl-end", "#4a5060");
        ctx.beginPath();
        ctx.moveTo(Math.round(endX) + 0.5, 0);
        ctx.lineTo(Math.round(endX) + 0.5, trackBottom);
        ctx.stroke();
      }

      ctx.strokeStyle = color("--sc-tl-rule", "#2a2e37");
      ctx.beginPath();
      ctx.moveTo(0, rulerH - 0.5);
      ctx.lineTo(w, rulerH - 0.5);
      ctx.stroke();
    },
  },
};
