-- Wake every dispatcher, in any process, when jobs are written: one notification on
-- channel `kronos_jobs` per inserting statement, delivered when its transaction commits.
CREATE FUNCTION kronos_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kronos_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify_dispatchers
    AFTER INSERT ON jobs
    FOR EACH STATEMENT
    EXECUTE FUNCTION kronos_notify_jobs();
