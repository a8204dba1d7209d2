/**
 * A label set made once and reused by every scrape: its Prometheus text
 * (`service="web",port="80"`, values escaped) and the same labels as an
 * object (for prom-client's worker aggregation). A route's label sets are made
 * once (route-labels.ts), so a scrape concatenates ready strings instead of
 * escaping and formatting thousands of label values.
 */
export type Labels = Record<string, string | number>

export class LabelSet {
  /** `k="v",k2="v2"` without braces; '' for no labels. */
  readonly text: string
  readonly labels: Labels
  /**
   * Encoded line prefixes of this set, by name suffix, for the renderer key
   * (metrics-page.ts: node and metric name) it was last used with; most sets
   * serve one metric, the others keep theirs in `prefixes`.
   */
  prefixKey = ''
  prefixBufs: Buffer[] | null = null
  prefixes: Map<string, Buffer[]> | null = null

  constructor (labels: Labels, text?: string) {
    this.labels = labels
    this.text = text ?? labelText(labels)
  }

  /** This set plus more labels, whose names it does not have yet (a new set: sets are immutable). */
  with (more: Labels): LabelSet {
    const extra = labelText(more)
    return new LabelSet({ ...this.labels, ...more }, this.text === '' ? extra : extra === '' ? this.text : `${this.text},${extra}`)
  }

  static readonly EMPTY = new LabelSet({})
}

function labelText (labels: Labels): string {
  let text = ''
  for (const k in labels) text += `${text === '' ? '' : ','}${k}="${escapeLabelValue(String(labels[k]))}"`
  return text
}

/** The text exposition format's escaping of a label value: backslash, double quote, newline. */
export function escapeLabelValue (value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value
}
