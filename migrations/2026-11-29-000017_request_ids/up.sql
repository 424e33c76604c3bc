-- the X-Request-Id of the API request that created a job (its logs and the worker's share it)
ALTER TABLE jobs ADD COLUMN request_id TEXT CHECK (length(request_id) <= 128);
