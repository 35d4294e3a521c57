// One queue row's status, place, prompt, server, tries, age and outcome (Python side: components/job_list.py).
//
// Python sends plain data (`row`); every value is drawn as text or as an attribute value, never as markup,
// so a project name or a ComfyUI error message shows exactly as it was written.
export default {
  template: `
    <div>
      <span :class="['q-badge flex inline items-center no-wrap sc-job-badge', 'bg-' + row.color, row.textColor]"
            :data-status="row.status">{{ row.statusLabel }}</span>
      <i class="material-icons sc-job-kind" :title="row.kindLabel" :aria-label="row.kindLabel">{{ row.kindIcon }}</i>
      <div class="sc-job-where">
        <a :href="row.href">{{ row.where }}</a>
        <div class="sc-muted text-xs">#{{ row.id }} · {{ row.prompt }}</div>
      </div>
      <span class="sc-job-server text-xs" title="Server">{{ row.server }}</span>
      <span class="sc-job-tries text-xs" title="Attempts">{{ row.tries }}</span>
      <span class="sc-job-age text-xs" :title="row.created">{{ row.age }}</span>
      <span v-if="row.error !== null" class="sc-job-wide text-xs sc-job-error line-clamp-2" :title="row.error"
            :data-testid="'job-error-' + row.id">{{ row.errorShort }}</span>
      <span v-else-if="row.outcome" class="sc-job-wide text-xs sc-muted">{{ row.outcome }}</span>
    </div>
  `,
  props: {
    row: Object,
  },
};
