DROP TRIGGER IF EXISTS jobs_notify_dispatchers ON jobs;
DROP FUNCTION IF EXISTS kronos_notify_jobs();
