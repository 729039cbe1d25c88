pub mod admission;
pub mod portforward;
