//! Mutating admission webhooks.
