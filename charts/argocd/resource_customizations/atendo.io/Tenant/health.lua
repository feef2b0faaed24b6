-- Argo CD health of an Atendo Tenant (atendo.io/v1alpha1), from what atendo-operator writes:
-- status.observedGeneration, and the Ready condition whose reason is the first failing step's
-- (NamespaceReady, StorageReady, DatabaseReady, ChatServerReady, IngressReady).
-- Kept to Lua 5.1, the language of Argo CD's interpreter.
local hs = {}

local FINALIZER = "atendo.io/cleanup"
-- Ready=False reasons that resolve on their own: replicas starting, the ingress controller
-- assigning an address. Every other False reason needs someone to act.
local CONVERGING = { Progressing = true, AwaitingAddress = true }

local function condition(status, kind)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local meta = obj.metadata or {}
local spec = obj.spec or {}
local status = obj.status
local annotations = meta.annotations or {}
local ready = condition(status, "Ready")

-- Deletion: the operator's finalizer removes the bucket and database user (per
-- deletionPolicy), then the namespace. A failed cleanup waits for a person.
if meta.deletionTimestamp ~= nil then
  local waiting = {}
  for _, f in ipairs(meta.finalizers or {}) do
    table.insert(waiting, f)
  end
  if ready ~= nil and ready.status == "False" and ready.reason == "CleanupFailed" then
    hs.status = "Degraded"
    hs.message = ready.message
    return hs
  end
  hs.status = "Progressing"
  if #waiting == 0 then
    hs.message = "Deleting"
  else
    hs.message = "Deleting: waiting for finalizer " .. table.concat(waiting, ", ")
  end
  for _, f in ipairs(waiting) do
    if f == FINALIZER then
      hs.message = hs.message .. " (the operator retires the tenant's bucket and database per spec.deletionPolicy, then deletes its namespace)"
    end
  end
  return hs
end

-- The operator reconciles nothing while paused; it still reports Ready=False/Paused.
if annotations["atendo.io/paused"] == "true" then
  hs.status = "Suspended"
  if ready ~= nil and ready.reason == "Paused" then
    hs.message = ready.message
  else
    hs.message = "atendo.io/paused is true; nothing is reconciled"
  end
  return hs
end

if status == nil or ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the Tenant"
  return hs
end

local generation = meta.generation
if generation ~= nil then
  local observed = status.observedGeneration
  if observed == nil or observed < generation or (ready.observedGeneration ~= nil and ready.observedGeneration < generation) then
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    if observed ~= nil then
      hs.message = hs.message .. " (last observed " .. tostring(observed) .. ")"
    end
    return hs
  end
end

if ready.status == "False" and not CONVERGING[ready.reason] then
  hs.status = "Degraded"
  hs.message = ready.message
  return hs
end

if spec.suspended == true then
  hs.status = "Suspended"
  hs.message = ready.message
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

hs.status = "Progressing"
hs.message = ready.message or "Waiting for the Tenant to become Ready"
return hs
