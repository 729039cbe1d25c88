//! Whole manifests (files): documents, workload kinds, reports.
