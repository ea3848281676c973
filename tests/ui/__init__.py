"""What a person sees: the real CLI in a real terminal (tmux) against the sandbox."""
