//! Storage integration tests: one binary, a module per concept.

mod support {
    pub mod memcached;
}

mod memcached;
