//! Plans and the sizing a Tenant ends up with once its explicit fields override its plan's defaults.

use crate::tenant::{Plan, TenantSpec};

/// CPU in millicores and memory in MiB, so quotas can be computed without parsing quantities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request_m: u32,
    pub memory_request_mi: u32,
    pub cpu_limit_m: u32,
    pub memory_limit_mi: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Autoscaling {
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub target_cpu_utilization: i32,
}

/// Per-connection limits the chat-server enforces (CHAT_WS_RATE, CHAT_WS_BURST, CHAT_VISITOR_RATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub ws_rate: u32,
    pub ws_burst: u32,
    pub visitor_rate: u32,
}

/// How often the operator's CronJob backs up the tenant's store, and how long S3 keeps each
/// backup (the `backups/` lifecycle rule). Every plan backs up at least daily: the store is the
/// one thing of a tenant that cannot be rebuilt. Enterprise every 6 hours, so at most 6 hours of
/// conversations are lost; retention covers a week (starter), a fortnight (professional) and a
/// month plus the few days it takes to notice a bad month-end (enterprise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backups {
    /// Hours between backups; divides 24, so the runs fall at the same hours every day.
    pub every_hours: u32,
    pub retention_days: i32,
}

/// A plan's defaults, or a Tenant's resolved sizing (same shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// Replica count when there is no autoscaling.
    pub replicas: i32,
    pub autoscaling: Option<Autoscaling>,
    pub resources: Resources,
    pub retention_days: i32,
    pub max_upload_mb: i32,
    pub rate_limits: RateLimits,
    pub backups: Backups,
}

/// Target CPU when a Tenant turns autoscaling on in a plan that has none.
pub const DEFAULT_TARGET_CPU: i32 = 70;

impl Sizing {
    pub fn for_plan(plan: Plan) -> Sizing {
        match plan {
            Plan::Starter => Sizing {
                replicas: 1,
                autoscaling: None,
                resources: Resources {
                    cpu_request_m: 100,
                    memory_request_mi: 128,
                    cpu_limit_m: 500,
                    memory_limit_mi: 256,
                },
                retention_days: 30,
                max_upload_mb: 10,
                rate_limits: RateLimits {
                    ws_rate: 10,
                    ws_burst: 30,
                    visitor_rate: 20,
                },
                backups: Backups {
                    every_hours: 24,
                    retention_days: 7,
                },
            },
            Plan::Professional => Sizing {
                replicas: 2,
                autoscaling: Some(Autoscaling {
                    min_replicas: 2,
                    max_replicas: 6,
                    target_cpu_utilization: 70,
                }),
                resources: Resources {
                    cpu_request_m: 250,
                    memory_request_mi: 256,
                    cpu_limit_m: 1000,
                    memory_limit_mi: 512,
                },
                retention_days: 90,
                max_upload_mb: 25,
                rate_limits: RateLimits {
                    ws_rate: 20,
                    ws_burst: 60,
                    visitor_rate: 30,
                },
                backups: Backups {
                    every_hours: 24,
                    retention_days: 14,
                },
            },
            Plan::Enterprise => Sizing {
                replicas: 3,
                autoscaling: Some(Autoscaling {
                    min_replicas: 3,
                    max_replicas: 20,
                    target_cpu_utilization: 65,
                }),
                resources: Resources {
                    cpu_request_m: 500,
                    memory_request_mi: 512,
                    cpu_limit_m: 2000,
                    memory_limit_mi: 1024,
                },
                retention_days: 365,
                max_upload_mb: 100,
                rate_limits: RateLimits {
                    ws_rate: 40,
                    ws_burst: 120,
                    visitor_rate: 60,
                },
                backups: Backups {
                    every_hours: 6,
                    retention_days: 35,
                },
            },
        }
    }

    /// The plan's defaults with every field the spec sets taken from the spec. Giving
    /// `chat.autoscaling` in a plan without autoscaling turns it on, starting from the replica count.
    /// Consistency (min <= max) is checked by [`crate::validation::validate`], not here.
    pub fn resolve(spec: &TenantSpec) -> Sizing {
        let mut sizing = Sizing::for_plan(spec.plan);
        let chat = spec.chat.clone().unwrap_or_default();
        if let Some(replicas) = chat.replicas {
            sizing.replicas = replicas;
        }
        if let Some(auto) = chat.autoscaling {
            let base = sizing.autoscaling.unwrap_or(Autoscaling {
                min_replicas: sizing.replicas,
                max_replicas: sizing.replicas,
                target_cpu_utilization: DEFAULT_TARGET_CPU,
            });
            sizing.autoscaling = Some(Autoscaling {
                min_replicas: auto.min_replicas.unwrap_or(base.min_replicas),
                max_replicas: auto.max_replicas.unwrap_or(base.max_replicas),
                target_cpu_utilization: auto
                    .target_cpu_utilization
                    .unwrap_or(base.target_cpu_utilization),
            });
        }
        let storage = spec.storage.clone().unwrap_or_default();
        sizing.retention_days = storage.retention_days.unwrap_or(sizing.retention_days);
        sizing.max_upload_mb = storage.max_upload_mb.unwrap_or(sizing.max_upload_mb);
        sizing
    }

    /// The most pods the chat-server may run at once: its ceiling plus one rolling-update surge.
    pub fn max_pods(&self) -> i32 {
        self.autoscaling.map_or(self.replicas, |a| a.max_replicas) + 1
    }
}

// Dedicated database (issue 16): the size of a tenant's own cluster, by plan. Kept apart from
// `Sizing` (which every builder reads) because only the database provider uses it.

/// Atlas instance size of a dedicated cluster: M10 (2 GB RAM) for professional, M30 (8 GB) for
/// enterprise. None for starter, which cannot have one (the CRD and validation refuse it).
pub fn dedicated_instance_size(plan: Plan) -> Option<&'static str> {
    match plan {
        Plan::Starter => None,
        Plan::Professional => Some("M10"),
        Plan::Enterprise => Some("M30"),
    }
}
