//! The steps that build a portal from its configuration, in the order `build` runs them: open
//! the stores, reach the upstream (a real org, or the embedded sandbox started here), start the
//! service identity, assemble the portal, and lay out the router.

pub mod portal;
pub mod router;
pub mod storage;
pub mod upstream;
