"""The local Meta stand-in (demo and tests only): its own Flask app on its own port.

The portal never imports this package; it reaches the sandbox only through
META_GRAPH_URL / META_DIALOG_URL.
"""
