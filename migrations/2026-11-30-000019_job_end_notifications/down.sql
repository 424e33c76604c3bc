DROP TRIGGER jobs_notify_job_ends ON jobs;
DROP FUNCTION kronos_notify_job_ends();
