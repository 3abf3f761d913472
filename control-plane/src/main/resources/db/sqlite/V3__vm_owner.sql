-- who created each VM (quotas count by it; '' for VMs created before)
ALTER TABLE vms ADD COLUMN owner TEXT NOT NULL DEFAULT '';
