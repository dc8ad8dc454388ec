# shellcheck shell=bash
# Certificates and kubeconfigs, made with openssl. One CA signs everything; ECDSA P-256 keys
# because they are generated in milliseconds. Kept in $ZDT_RUN/pki across `down` so a warm
# `up` does not regenerate them; a missing file is (re)made on the next `up`.

# issue <name> <subject> <server|client> [subjectAltName]
issue() {
  local name=$1 subj=$2 kind=$3 san=${4:-}
  [[ -s $PKI/$name.crt && -s $PKI/$name.key ]] && return 0
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ $kind == server ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  local ca=${CA_NAME:-ca}
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig <file> <cert name>: a kubeconfig that reaches the API server with that client cert.
write_kubeconfig() {
  local file=$1 cert=$2
  write_config "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zdt
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $cert
  user:
    client-certificate: $PKI/$cert.crt
    client-key: $PKI/$cert.key
contexts:
- name: zdt
  context:
    cluster: zdt
    user: $cert
current-context: zdt
EOF
  chmod 600 "$file"
}

ensure_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [[ ! -s $PKI/ca.crt || ! -s $PKI/ca.key ]]; then
    say "generating a CA and certificates in $PKI"
    rm -f "$PKI"/*.crt "$PKI"/*.key
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=zdt-e2e-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt" 2>/dev/null
  fi
  issue kube-apiserver "/CN=kube-apiserver" server \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP"
  # O=system:masters: cluster-admin through the built-in group binding.
  issue admin "/O=system:masters/CN=zdt-admin" client
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
  issue kube-controller-manager "/CN=system:kube-controller-manager" client
  issue kube-scheduler "/CN=system:kube-scheduler" client
  issue kube-proxy "/CN=system:kube-proxy" client
  # The aggregation layer's front proxy has its own CA, as in kubeadm; without it the
  # controller-manager and scheduler complain about a missing requestheader CA.
  if [[ ! -s $PKI/front-proxy-ca.crt ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/front-proxy-ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/front-proxy-ca.key" -subj "/CN=zdt-front-proxy-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/front-proxy-ca.crt" 2>/dev/null
    rm -f "$PKI/front-proxy-client.crt"
  fi
  CA_NAME=front-proxy-ca issue front-proxy-client "/CN=front-proxy-client" client
  # The Node authorizer and NodeRestriction recognise the kubelet by this exact identity.
  issue kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" client
  issue kubelet-serving "/CN=$NODE_NAME" server "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1"
  # Traefik gets its own user, bound to a ClusterRole with only what its provider reads.
  issue traefik "/CN=zdt-traefik" client
  issue coredns "/CN=zdt-coredns" client
  if [[ ! -s $PKI/sa.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
    openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  local c
  for c in kube-controller-manager kube-scheduler kube-proxy kubelet-client traefik coredns; do
    write_kubeconfig "$PKI/$c.kubeconfig" "$c"
  done
}
