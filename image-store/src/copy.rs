//! One copy routine for every transport: an [`ImageSource`] is read, an
//! [`ImageDestination`] is written, blobs stream through digest verification.
//!
//! The store, OCI layouts, oci-archive and docker-archive implement these traits (see
//! [`crate::transports`]); the registry crate adds `docker://` later, so pull, push, save, load
//! and copy all run through [`copy_image`].
