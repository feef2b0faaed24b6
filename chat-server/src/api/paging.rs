//! The query string of a paged list: `?limit=&before=`, read as text so that a bad value gets the
//! core's error naming `limit` rather than a generic query rejection.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::chat::paging;
use crate::error::Error;
use crate::store::Page;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` cursor of the previous page.
    before: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, Error> {
        paging::page(self.before.as_deref(), self.limit.as_deref())
    }
}

/// Declares a list's answer as the contract has it, `{"<field>": [items], "next": cursor|null}`,
/// so every list documents and fills `next` the same way.
macro_rules! page_body {
    ($(#[$meta:meta])* $name:ident { $field:ident: $item:ty }) => {
        $(#[$meta])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            $field: Vec<$item>,
            /// The cursor of the following page (`?before=`), null on the last.
            #[schema(required = true)]
            next: Option<String>,
        }

        impl From<crate::chat::paging::Paged<$item>> for $name {
            fn from(page: crate::chat::paging::Paged<$item>) -> Self {
                Self {
                    $field: page.items,
                    next: page.next,
                }
            }
        }
    };
}
pub(crate) use page_body;
