-- The scheduler's memory: one row per (task, slot) it enqueued. A restarted leader
-- catches up from each task's latest slot; the primary key makes a slot enqueue once
-- even with two schedulers.
CREATE TABLE schedule_runs (
    task        TEXT NOT NULL,
    slot        TIMESTAMPTZ NOT NULL,
    job_id      UUID REFERENCES jobs (id) ON DELETE SET NULL,
    -- what the tick did when it enqueued nothing (e.g. "a refresh is still pending")
    note        TEXT,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (task, slot)
);
