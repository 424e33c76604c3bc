// Follows a job until it finishes: server-sent events from /v1/jobs/{id}/events,
// falling back to polling GET /v1/jobs/{id} when the stream cannot be held.
import { get } from './api';
import { TERMINAL, type Job } from './types';

/** Calls `update` with each state of job `id` until it finishes; returns a stop function. */
export function followJob(id: string, update: (job: Job) => void): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let source: EventSource | null = null;

  const poll = async () => {
    if (stopped) return;
    try {
      const job = await get<Job>(`/v1/jobs/${id}`);
      update(job);
      if (TERMINAL.includes(job.status)) return;
    } catch {
      // a blip: try again
    }
    timer = setTimeout(poll, 1000);
  };

  if ('EventSource' in window) {
    source = new EventSource(`/v1/jobs/${id}/events`);
    source.addEventListener('job', (event) => update(JSON.parse((event as MessageEvent).data)));
    source.addEventListener('end', () => source?.close());
    source.onerror = () => {
      // closed for good (refused, or the server went away): poll instead
      if (source && source.readyState === EventSource.CLOSED && !stopped) poll();
    };
  } else {
    poll();
  }

  return () => {
    stopped = true;
    source?.close();
    clearTimeout(timer);
  };
}
