//! Surgical text edits on YAML/JSON.
