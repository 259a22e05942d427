-- GuestOps' tables in a PostgreSQL database that is the cluster's membership and grain store, and the statements
-- Orleans' ADO.NET clustering and grain storage providers run on them. Those providers find their SQL in the table
-- OrleansQuery (QueryKey, QueryText), read once when a silo starts; the statements name their parameters
-- @Name and their result columns as the providers read them ("Version", "PayloadBinary", ...).
-- Applied by PostgreSqlSchema under an advisory lock, in one transaction, whenever guestops_schema holds another
-- version: every statement here may run again on tables it already made.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey varchar(64) NOT NULL PRIMARY KEY,
    QueryText text NOT NULL
);

-- One row per cluster: the membership version that every change of a member's row moves on by one, so that two
-- members changing the table at once cannot both succeed.
CREATE TABLE IF NOT EXISTS guestops_membership_version
(
    cluster_id varchar(150) NOT NULL PRIMARY KEY,
    version integer NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per silo (address, port, generation): its status, gateway port and when it last said it is alive.
CREATE TABLE IF NOT EXISTS guestops_membership
(
    cluster_id varchar(150) NOT NULL REFERENCES guestops_membership_version (cluster_id) ON DELETE CASCADE,
    address varchar(45) NOT NULL,
    port integer NOT NULL,
    generation integer NOT NULL,
    silo_name varchar(150) NOT NULL,
    host_name varchar(150) NOT NULL,
    status integer NOT NULL,
    proxy_port integer NOT NULL,
    suspect_times text,
    start_time timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

-- Persisted grain state: one row per grain of one type, its payload as Orleans serialized it, and the version that
-- is the grain's ETag (a write or a clear names the version it read; another one is a conflict).
CREATE TABLE IF NOT EXISTS guestops_grain_state
(
    service_id varchar(150) NOT NULL,
    grain_type_hash integer NOT NULL,
    grain_type varchar(512) NOT NULL,
    grain_id_hash integer NOT NULL,
    grain_id_n0 bigint NOT NULL,
    grain_id_n1 bigint NOT NULL,
    grain_id_extension varchar(512),
    payload bytea,
    version integer NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS guestops_grain_state_key ON guestops_grain_state
    (service_id, grain_id_hash, grain_type_hash, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')));

CREATE TABLE IF NOT EXISTS guestops_schema
(
    version integer NOT NULL
);

-- Membership. Status 3 is an active silo, 6 a dead one (Orleans' SiloStatus).

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', $sql$
    WITH created AS (
        INSERT INTO guestops_membership_version (cluster_id) VALUES (@DeploymentId)
        ON CONFLICT DO NOTHING
        RETURNING cluster_id)
    SELECT count(*) > 0 FROM created
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A new member's row, only while the membership version is the one its caller read; the version then moves on.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', $sql$
    WITH expected AS (
        SELECT cluster_id FROM guestops_membership_version
        WHERE cluster_id = @DeploymentId AND version = @Version
        FOR UPDATE),
    added AS (
        INSERT INTO guestops_membership
            (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
        SELECT cluster_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
        FROM expected
        ON CONFLICT DO NOTHING
        RETURNING cluster_id),
    moved AS (
        UPDATE guestops_membership_version v SET version = v.version + 1, changed_at = now()
        FROM added WHERE v.cluster_id = added.cluster_id
        RETURNING v.cluster_id)
    SELECT count(*) > 0 FROM moved
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A member's status and suspicions, on the same condition.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', $sql$
    WITH expected AS (
        SELECT cluster_id FROM guestops_membership_version
        WHERE cluster_id = @DeploymentId AND version = @Version
        FOR UPDATE),
    changed AS (
        UPDATE guestops_membership m
        SET status = @Status, suspect_times = @SuspectTimes::text, i_am_alive_time = @IAmAliveTime
        FROM expected
        WHERE m.cluster_id = expected.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
        RETURNING m.cluster_id),
    moved AS (
        UPDATE guestops_membership_version v SET version = v.version + 1, changed_at = now()
        FROM changed WHERE v.cluster_id = changed.cluster_id
        RETURNING v.cluster_id)
    SELECT count(*) > 0 FROM moved
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A member's heartbeat: its own row only, the version unchanged.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', $sql$
    UPDATE guestops_membership SET i_am_alive_time = @IAmAliveTime
    WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- The version row always, joined with the member's row when there is one (no StartTime: no such member).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', $sql$
    SELECT v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
           m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
           m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
    FROM guestops_membership_version v
    LEFT JOIN guestops_membership m
        ON m.cluster_id = v.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    WHERE v.cluster_id = @DeploymentId
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', $sql$
    SELECT v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
           m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
           m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
    FROM guestops_membership_version v
    LEFT JOIN guestops_membership m ON m.cluster_id = v.cluster_id
    WHERE v.cluster_id = @DeploymentId
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- The gateways clients may connect to: active members with a gateway port.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', $sql$
    SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
    FROM guestops_membership
    WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- The whole cluster's membership (its members' rows go with the version row).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', $sql$
    DELETE FROM guestops_membership_version WHERE cluster_id = @DeploymentId
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Dead members not heard from since the given time.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', $sql$
    DELETE FROM guestops_membership
    WHERE cluster_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Grain state. A grain is found by all of its key's parts; the hashes lead the index.

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', $sql$
    SELECT payload AS "PayloadBinary", version AS "Version"
    FROM guestops_grain_state
    WHERE service_id = @ServiceId AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
      AND grain_type = @GrainTypeString AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString::varchar, '')
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Without a version: a first write, which fails if the row exists. With one: an update of that version. Either way
-- the new version is the answer, and no row is a conflict.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $sql$
    WITH updated AS (
        UPDATE guestops_grain_state
        SET payload = @PayloadBinary, version = version + 1, modified_at = now()
        WHERE @GrainStateVersion::integer IS NOT NULL AND version = @GrainStateVersion::integer
          AND service_id = @ServiceId AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
          AND grain_type = @GrainTypeString AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
          AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString::varchar, '')
        RETURNING version),
    inserted AS (
        INSERT INTO guestops_grain_state
            (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension, payload, version)
        SELECT @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString::varchar, @PayloadBinary, 1
        WHERE @GrainStateVersion::integer IS NULL
        ON CONFLICT DO NOTHING
        RETURNING version)
    SELECT version AS "NewGrainStateVersion" FROM updated
    UNION ALL
    SELECT version FROM inserted
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A clear keeps the row without a payload, its version moved on.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', $sql$
    UPDATE guestops_grain_state
    SET payload = NULL, version = version + 1, modified_at = now()
    WHERE version = @GrainStateVersion::integer
      AND service_id = @ServiceId AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
      AND grain_type = @GrainTypeString AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString::varchar, '')
    RETURNING version
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A clear with DeleteStateOnClear removes the row; the answer is its version plus one, which tells the provider the
-- version it named was the stored one.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', $sql$
    DELETE FROM guestops_grain_state
    WHERE version = @GrainStateVersion::integer
      AND service_id = @ServiceId AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
      AND grain_type = @GrainTypeString AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString::varchar, '')
    RETURNING version + 1
$sql$) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
