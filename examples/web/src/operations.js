// Every operation the app sends. `npm run build` reads them from here into the persisted-query
// manifest (persisted-query-manifest.config.json), so each is one static gql document with a
// unique name (no interpolations: the manifest generator reads the source, not the module).
import { gql } from "@apollo/client";

export const HOME = gql`
  query Home {
    me {
      id
      userId
      name
      email
      unreadCount
      memberships {
        role
        organization {
          id
          name
          runs(first: 10) {
            nodes {
              id
              status
              checklist { title }
              progress { percent }
            }
          }
        }
      }
      assignments(first: 20) {
        nodes {
          id
          status
          priority
          dueAt
          notes
          checklist { title }
          run { id status progress { percent } }
        }
      }
    }
  }
`;

export const START_RUN = gql`
  mutation StartRun($assignmentId: ID!) {
    startRun(assignmentId: $assignmentId) { id }
  }
`;

export const RUN_PAGE = gql`
  query RunPage($id: ID!) {
    run(id: $id) {
      id
      status
      version
      progress { done total percent }
      checklist { title description }
      assignment { id notes assignees { userId name } }
      items {
        itemId
        done
        value
        version
        updatedBy
        title
        description
        kind
        required
        min
        max
        maxLength
        maxFiles
      }
    }
  }
`;

export const SET_ITEM_STATE = gql`
  mutation SetItemState($runId: ID!, $itemId: String!, $input: ItemStateInput!) {
    setItemState(runId: $runId, itemId: $itemId, input: $input) {
      item { itemId done value version updatedBy }
      run { id version progress { done total percent } }
    }
  }
`;

export const RUN_UPDATED = gql`
  subscription RunUpdated($runId: ID!, $afterVersion: Int) {
    runUpdated(runId: $runId, afterVersion: $afterVersion) {
      version
      progress { done total percent }
      event { version type actorId itemId after at }
    }
  }
`;

export const PRESENCE = gql`
  subscription Presence($entityId: ID!) {
    presence(entityId: $entityId) {
      kind
      entry { connectionId userId name status focusedItemId }
      entries { connectionId userId name status focusedItemId }
    }
  }
`;

export const UPDATE_PRESENCE = gql`
  mutation UpdatePresence($input: UpdatePresenceInput!) {
    updatePresence(input: $input) { connectionId }
  }
`;

export const NOTIFICATIONS = gql`
  query Notifications {
    me {
      id
      unreadCount
      notifications(first: 10) {
        nodes { id kind title body read createdAt }
      }
    }
  }
`;

export const NOTIFICATION_RECEIVED = gql`
  subscription NotificationReceived {
    notificationReceived { id kind title body read createdAt }
  }
`;

export const MARK_NOTIFICATIONS_READ = gql`
  mutation MarkNotificationsRead {
    markNotificationsRead { id unreadCount }
  }
`;

// Photos: start an upload (a presigned POST straight to S3), complete it (the file is checked
// and attached to the PHOTO item: a FILE_ATTACHED run event), and read a file's name and a
// fresh download link by its ID (the item's value lists file IDs).
export const CREATE_UPLOAD = gql`
  mutation CreateUpload($input: CreateUploadInput!) {
    createUpload(input: $input) {
      url
      fields
      upload { id }
    }
  }
`;

export const COMPLETE_UPLOAD = gql`
  mutation CompleteUpload($uploadId: ID!) {
    completeUpload(uploadId: $uploadId) { id filename }
  }
`;

export const FILE = gql`
  query File($id: ID!) {
    node(id: $id) {
      id
      ... on File { filename contentType size downloadUrl }
    }
  }
`;
