-- indexes for listing VMs by phase, node and label, and one VM's events
CREATE INDEX vms_by_phase ON vms(phase, id);
CREATE INDEX vms_by_node ON vms(node, id);
CREATE INDEX vm_labels_by_entry ON vm_labels(key, value, vm_id);
CREATE INDEX events_by_vm ON events(vm_id, seq);
