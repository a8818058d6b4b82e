//! Port mappings (`-p/--publish`), in netavark's `port_mappings` shape.
