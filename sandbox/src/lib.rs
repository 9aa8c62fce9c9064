//! A faithful local Genesys Cloud (work in progress).
