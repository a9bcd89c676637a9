"""Who may do what and how much: roles, limits, the last-super-admin rule, and the
services that apply changes."""
