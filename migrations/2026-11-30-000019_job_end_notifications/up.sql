-- Wake the API's live job status when jobs end: a notification on channel
-- `kronos_job_ends` from every transaction that ends jobs (PostgreSQL delivers
-- identical notifications of one transaction once, at commit), so event streams show a
-- finished job at once instead of at their next periodic read. Only the update that
-- ends a job fires it: progress, heartbeats and dispatch stamps do not.
CREATE FUNCTION kronos_notify_job_ends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kronos_job_ends', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify_job_ends
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION kronos_notify_job_ends();
