"""What every host-side layer shares: the one configuration object and logging."""
