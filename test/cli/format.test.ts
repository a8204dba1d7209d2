import t from 'tap'
import { ago, humanDuration } from '../../lib/cli/format'
import { formatTable } from '../../lib/cli/table'

t.test('docker\'s human durations', async (t) => {
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'], [999, 'Less than a second'], [1000, '1 second'], [8000, '8 seconds'], [59_999, '59 seconds'],
    [60_000, 'About a minute'], [119_000, 'About a minute'], [120_000, '2 minutes'], [59 * 60_000, '59 minutes'],
    [60 * 60_000, 'About an hour'], [3 * 3_600_000, '3 hours'], [47 * 3_600_000, '47 hours'], [3 * 86_400_000, '3 days'],
    [15 * 86_400_000, '2 weeks'], [90 * 86_400_000, '3 months'], [800 * 86_400_000, '2 years']
  ]
  for (const [ms, text] of cases) t.equal(humanDuration(ms), text, `${ms} ms`)
  t.equal(ago(1000, 9000), '8 seconds ago')
  t.equal(ago(0, 70_000), 'about a minute ago')
})

t.test('tables align like docker\'s tabwriter (min width 20, padding 3)', async (t) => {
  t.equal(formatTable(['ID', 'NAME'], [['abc', 'x'], ['averyveryverylongidentifier', 'y']]),
    `${'ID'.padEnd(30)}NAME\n${'abc'.padEnd(30)}x\naveryveryverylongidentifier   y\n`)
})
