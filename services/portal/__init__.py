"""The portal: a backend-for-frontend for the people who do the casework (server-rendered, German first)."""
