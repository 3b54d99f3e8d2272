"""HTTP side of the service: pages, the widget files, origins, security headers."""
