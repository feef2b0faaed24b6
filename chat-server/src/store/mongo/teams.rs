//! Teams, canned responses and conversation labels. Uniqueness (team names, shortcuts) is the
//! unique indexes' job, so two replicas creating the same name at once get one `Conflict`.

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use serde::de::DeserializeOwned;

use super::docs::{CannedDoc, ConversationDoc, TeamDoc, bson_time};
use super::errors::{is_duplicate_key, store_error};
use super::{MongoStore, distinct, inserted};
use crate::model::{CannedResponse, Conversation, ConversationStatus, Team, now};
use crate::store::{CannedPatch, Page, StoreError, StoreResult, TeamPatch};

impl MongoStore {
    pub(super) async fn replace_labels(
        &self,
        conversation_id: &str,
        labels: &[String],
    ) -> StoreResult<Conversation> {
        let labels = distinct(labels);
        self.conversations
            .find_one_and_update(
                doc! { "_id": conversation_id },
                doc! {
                    "$set": { "labels": labels },
                    "$max": { "updated_at": bson_time(now()) },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| store_error(&format!("labelling conversation {conversation_id}"), e))?
            .map(Conversation::from)
            .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation_id}")))
    }

    pub(super) async fn insert_team(&self, team: Team) -> StoreResult<Team> {
        let team = Team {
            agent_ids: distinct(&team.agent_ids),
            ..team
        };
        let result = self.teams.insert_one(TeamDoc::from(team.clone())).await;
        inserted(
            || format!("a team named {} (or id {})", team.name, team.id),
            result,
        )?;
        Ok(team)
    }

    pub(super) async fn find_team(&self, id: &str) -> StoreResult<Option<Team>> {
        let found = self
            .teams
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading team {id}"), e))?;
        Ok(found.map(Team::from))
    }

    pub(super) async fn patch_team(&self, id: &str, patch: &TeamPatch) -> StoreResult<Team> {
        let mut set = Document::new();
        if let Some(name) = &patch.name {
            set.insert("name", name.as_str());
            set.insert("name_key", name.to_lowercase());
        }
        if let Some(members) = &patch.agent_ids {
            set.insert("agent_ids", distinct(members));
        }
        if set.is_empty() {
            return self
                .find_team(id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("team {id}")));
        }
        let updated = self
            .teams
            .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await;
        match updated {
            Ok(Some(team)) => Ok(Team::from(team)),
            Ok(None) => Err(StoreError::NotFound(format!("team {id}"))),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(format!(
                "a team named {}",
                patch.name.as_deref().unwrap_or_default()
            ))),
            Err(e) => Err(store_error(&format!("updating team {id}"), e)),
        }
    }

    pub(super) async fn remove_team(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        let deleted = self
            .teams
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting team {id}"), e))?;
        if deleted.deleted_count == 0 {
            return Err(StoreError::NotFound(format!("team {id}")));
        }
        self.clear_on_open("team_id", id).await
    }

    pub(super) async fn team_ids_of(&self, agent_id: &str) -> StoreResult<Vec<String>> {
        let what = || format!("reading the teams of agent {agent_id}");
        let docs: Vec<Document> = self
            .teams
            .clone_with_type::<Document>()
            .find(doc! { "agent_ids": agent_id })
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| store_error(&what(), e))?
            .try_collect()
            .await
            .map_err(|e| store_error(&what(), e))?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
            .collect())
    }

    pub(super) async fn leave_all_teams(&self, agent_id: &str) -> StoreResult<()> {
        self.teams
            .update_many(
                doc! { "agent_ids": agent_id },
                doc! { "$pull": { "agent_ids": agent_id } },
            )
            .await
            .map_err(|e| store_error(&format!("taking agent {agent_id} out of its teams"), e))?;
        Ok(())
    }

    /// Sets `field` to null on the open and pending conversations where it is `value`, one
    /// conditional update each (one changed meanwhile is left alone), and returns them as changed.
    pub(super) async fn clear_on_open(
        &self,
        field: &str,
        value: &str,
    ) -> StoreResult<Vec<Conversation>> {
        let what = || format!("clearing {field} {value} from open conversations");
        let open: Vec<&str> = [ConversationStatus::Open, ConversationStatus::Pending]
            .iter()
            .map(|s| s.as_str())
            .collect();
        let ids: Vec<Document> = self
            .conversations
            .clone_with_type::<Document>()
            .find(doc! { field: value, "status": { "$in": open.clone() } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| store_error(&what(), e))?
            .try_collect()
            .await
            .map_err(|e| store_error(&what(), e))?;
        let mut changed = Vec::with_capacity(ids.len());
        for id in ids.iter().filter_map(|d| d.get_str("_id").ok()) {
            let updated: Option<ConversationDoc> = self
                .conversations
                .find_one_and_update(
                    doc! { "_id": id, field: value, "status": { "$in": open.clone() } },
                    doc! {
                        "$set": { field: Bson::Null },
                        "$max": { "updated_at": bson_time(now()) },
                    },
                )
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| store_error(&what(), e))?;
            changed.extend(updated.map(Conversation::from));
        }
        Ok(changed)
    }

    pub(super) async fn insert_canned(
        &self,
        canned: CannedResponse,
    ) -> StoreResult<CannedResponse> {
        let result = self
            .canned
            .insert_one(CannedDoc::from(canned.clone()))
            .await;
        inserted(
            || {
                format!(
                    "a canned response /{} (or id {})",
                    canned.shortcut, canned.id
                )
            },
            result,
        )?;
        Ok(canned)
    }

    pub(super) async fn find_canned(&self, id: &str) -> StoreResult<Option<CannedResponse>> {
        let found = self
            .canned
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading canned response {id}"), e))?;
        Ok(found.map(CannedResponse::from))
    }

    pub(super) async fn patch_canned(
        &self,
        id: &str,
        patch: &CannedPatch,
    ) -> StoreResult<CannedResponse> {
        let mut set = Document::new();
        if let Some(shortcut) = &patch.shortcut {
            set.insert("shortcut", shortcut.as_str());
            set.insert("shortcut_key", shortcut.to_lowercase());
        }
        if let Some(body) = &patch.body {
            set.insert("body", body.as_str());
        }
        let mut update = doc! { "$max": { "updated_at": bson_time(now()) } };
        if !set.is_empty() {
            update.insert("$set", set);
        }
        let updated = self
            .canned
            .find_one_and_update(doc! { "_id": id }, update)
            .return_document(ReturnDocument::After)
            .await;
        match updated {
            Ok(Some(canned)) => Ok(CannedResponse::from(canned)),
            Ok(None) => Err(StoreError::NotFound(format!("canned response {id}"))),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(format!(
                "a canned response /{}",
                patch.shortcut.as_deref().unwrap_or_default()
            ))),
            Err(e) => Err(store_error(&format!("updating canned response {id}"), e)),
        }
    }

    pub(super) async fn remove_canned(&self, id: &str) -> StoreResult<()> {
        let deleted = self
            .canned
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting canned response {id}"), e))?;
        match deleted.deleted_count {
            0 => Err(StoreError::NotFound(format!("canned response {id}"))),
            _ => Ok(()),
        }
    }

    /// One page of `collection`, newest (highest `_id`) first.
    pub(super) async fn page_of<D, T>(
        &self,
        collection: &Collection<D>,
        page: &Page,
        what: &str,
    ) -> StoreResult<Vec<T>>
    where
        D: DeserializeOwned + Send + Sync,
        T: From<D>,
    {
        // The driver reads a limit of 0 as "no limit".
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let filter = match &page.before_id {
            Some(before) => doc! { "_id": { "$lt": before.as_str() } },
            None => doc! {},
        };
        let docs: Vec<D> = collection
            .find(filter)
            .sort(doc! { "_id": -1 })
            .limit(i64::from(page.limit))
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(T::from).collect())
    }
}
