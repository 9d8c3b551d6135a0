"""The built-in parsers of sei-watch. The core finds them through the `sei_watch.parsers.v1`
entry points, exactly as it finds third-party ones; nothing in `sei_watch` imports this package.
"""
