"""Fakes of outside services' HTTP APIs that tests start on loopback: real servers speaking the providers' shapes."""
