# KV read for one app, with a deny and a parameter constraint.
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}
path "secret/data/app/admin" {
  capabilities = ["deny"]
}
path "aws/creds/+" {
  capabilities = ["update"]
  allowed_parameters = {
    "ttl" = ["1h", "2h"]
  }
  min_wrapping_ttl = "1s"
}
path "sys/leases/revoke-prefix/*" {
  capabilities = ["update", "sudo"]
  denied_parameters = { "force" = [] }
}
