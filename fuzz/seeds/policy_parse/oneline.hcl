path "auth/token/lookup-self" { capabilities = ["read"] }
path "secret/*" { capabilities = ["create", "update", "patch", "delete"] required_parameters = ["a"] }
