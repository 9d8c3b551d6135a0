"""Build-log dialects: each turns a CI system's or a build tool's log into stages and steps."""
