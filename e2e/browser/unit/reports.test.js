// The reports page's pure parts: durations as people read them, the CSV of both tables (RFC
// 4180 quoting), and the chart's value-axis step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duration, csv, daysCsv, agentsCsv } from '../../../chat-server/web/console/reports.js';
import { niceStep } from '../../../chat-server/web/console/chart.js';

test('durations read as seconds, minutes or hours, and no sample as a dash', () => {
  assert.equal(duration(45.4), '45 s');
  assert.equal(duration(60), '1 min');
  assert.equal(duration(200), '3 min 20 s');
  assert.equal(duration(7500), '2 h 5 min');
  assert.equal(duration(null), '—');
});

test('csv quotes commas, quotes and line breaks and leaves nulls empty', () => {
  assert.equal(csv([['a', 'b,c'], ['x"y', null], ['1\n2', 3]]), 'a,"b,c"\r\n"x""y",\r\n"1\n2",3\r\n');
});

test('the day and agent tables download with a header and one line per row', () => {
  const csat = (average, responses) => ({ average, responses, scores: [0, 0, 0, 0, 0] });
  const summary = {
    by_day: [{ date: '2026-11-02', conversations: 6, resolved: 4, first_response_median_seconds: 90, resolution_median_seconds: 1500, csat: csat(3.67, 3) }],
    by_agent: [
      { agent_id: 'a1', name: 'Ana, Lima', conversations: 3, resolved: 2, first_response_median_seconds: 60, resolution_median_seconds: 900, csat: csat(4.5, 2) },
      { agent_id: null, name: null, conversations: 1, resolved: 0, first_response_median_seconds: null, resolution_median_seconds: null, csat: csat(null, 0) },
    ],
  };
  assert.equal(
    daysCsv(summary),
    'date,conversations,resolved,first_response_median_seconds,resolution_median_seconds,csat_average,csat_responses\r\n2026-11-02,6,4,90,1500,3.67,3\r\n',
  );
  assert.deepEqual(agentsCsv(summary).split('\r\n').slice(1), ['a1,"Ana, Lima",3,2,60,900,4.5,2', ',,1,0,,,,0', '']);
});

test('the value axis steps by 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(3), 1);
  assert.equal(niceStep(37), 10);
  assert.equal(niceStep(4200), 2000);
  assert.equal(niceStep(0), 1);
});
