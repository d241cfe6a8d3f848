-- Remote-upload jobs are claimed by one server process for a while (a lease it renews as it
-- works); a job whose lease ran out, because its process died, is taken over by another.
ALTER TABLE remote_jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE remote_jobs ADD COLUMN lease_until BIGINT;
CREATE INDEX remote_jobs_unfinished ON remote_jobs(lease_until) WHERE execution_date IS NULL;
