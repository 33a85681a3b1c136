import { describe, expect, it } from 'vitest';
import * as berth from '../../src/index.js';

describe('the library entry point (hpc-berth)', () => {
  it('exports each capability under names that do not clash', () => {
    for (const name of [
      'openDispatch',
      'listJobRecords',
      'startPipelineRun',
      'resumePipelineRun',
      'cancelPipelineRun',
      'listPipelineRuns',
      'pipelineRunStatus',
      'runPipelineSlurm',
      'runPipelineLocal',
      'readPipelineMarkers',
    ]) {
      expect(typeof (berth as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('plans a pipeline from its text without touching any machine', () => {
    const spec = berth.parsePipelineSpec(
      ['name: lib', 'stages:', '  gen:', '    array: 3', '    run: echo {{task}}'].join('\n'),
      'inline.yaml',
    );
    const plan = berth.planPipeline(spec, new Map());
    expect(plan.units.map((u) => [u.key, u.run])).toEqual([['gen@0', [0, 1, 2]]]);
  });
});
