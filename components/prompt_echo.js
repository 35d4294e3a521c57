// The highlighted echo under a prompt field (Python side: components/prompt_editor.py).
// Python sends the text cut into [kind, text] spans; each is drawn as text, a highlighted one in a span
// whose class the CSS colours, so whatever a prompt holds shows as typed.
export default {
  template: `<div><template v-for="(s, i) in spans" :key="i"><span v-if="s[0]" :class="'sc-hl-' + s[0]">{{ s[1] }}</span><template v-else>{{ s[1] }}</template></template></div>`,
  props: {
    spans: Array,
  },
};
