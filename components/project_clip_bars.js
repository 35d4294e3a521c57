// A scene block's clip bars and overlap marks on the project timeline (Python side:
// components/project_overview_track.py). One component per scene instead of one element per clip keeps
// 50 scenes x 20 clips quick to build and to send; Python sends plain data, drawn as attribute values.
export default {
  template: `
    <div class="sc-pclips">
      <div v-for="(c, i) in clips" :key="'c' + i" :class="c.overlap ? 'sc-pclip sc-pclip-overlap' : 'sc-pclip'"
           :title="c.title" :style="{ left: c.left + '%', width: 'max(2px, ' + c.width + '%)', top: c.top + 'px',
           height: c.height + 'px', background: c.color }"></div>
      <div v-for="(o, i) in overlaps" :key="'o' + i" class="sc-poverlap" :title="o.title"
           :style="{ left: o.left + '%', width: o.width + '%' }"></div>
    </div>
  `,
  props: {
    clips: Array,
    overlaps: Array,
  },
};
