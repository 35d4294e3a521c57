// One queue row (Python side: components/job_list.py): status, place, prompt, server, tries, age and outcome,
// then the live cell Python puts in the slot (progress bar and preview, or the queue place), then the buttons.
//
// Python sends plain data (`row`, `buttons`); every value is drawn as text or as an attribute value, never
// as markup, so a project name or a ComfyUI error message shows exactly as it was written. One component
// per row keeps a 500-row queue as light as the HTML blocks it replaces.
export default {
  template: `
    <div>
      <div class="sc-job-info grow" :data-testid="'job-info-' + row.id">
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
      <slot></slot>
      <div class="sc-job-actions" :data-testid="'job-actions-' + row.id">
        <button v-for="b in buttons" :key="b.action" type="button"
                :class="b.danger ? 'sc-icon-btn sc-danger' : 'sc-icon-btn'" :data-action="b.action" :title="b.title"
                :aria-label="b.title + ' job ' + row.id" :data-testid="'job-' + b.action + '-' + row.id"
                @click="$emit('action', b.action)"><i class="material-icons">{{ b.icon }}</i></button>
      </div>
    </div>
  `,
  props: {
    row: Object,
    buttons: Array,
  },
};
