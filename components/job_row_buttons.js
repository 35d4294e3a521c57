// One queue row's buttons (Python side: components/job_list.py): plain buttons, one "action" event for all.
export default {
  template: `
    <div>
      <button v-for="b in buttons" :key="b.action" type="button" :class="b.danger ? 'sc-icon-btn sc-danger' : 'sc-icon-btn'"
              :data-action="b.action" :title="b.title" :aria-label="b.title + ' job ' + jobId"
              :data-testid="'job-' + b.action + '-' + jobId" @click="$emit('action', b.action)">
        <i class="material-icons">{{ b.icon }}</i>
      </button>
    </div>
  `,
  props: {
    jobId: Number,
    buttons: Array,
  },
};
