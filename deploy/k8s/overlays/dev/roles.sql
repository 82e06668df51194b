-- Development only: the login role of each service, a member of the role that
-- `steelcare migrate` grants the service's tables (created here first if migrate has not run
-- yet; migrate then finds it). Run once by the postgres image on an empty data directory.
CREATE ROLE steelcare_intake NOLOGIN;
CREATE ROLE steelcare_intake_app LOGIN PASSWORD 'dev-intake' IN ROLE steelcare_intake;
CREATE ROLE steelcare_dispatch NOLOGIN;
CREATE ROLE steelcare_dispatch_app LOGIN PASSWORD 'dev-dispatch' IN ROLE steelcare_dispatch;
CREATE ROLE steelcare_repair NOLOGIN;
CREATE ROLE steelcare_repair_app LOGIN PASSWORD 'dev-repair' IN ROLE steelcare_repair;
CREATE ROLE steelcare_acceptance NOLOGIN;
CREATE ROLE steelcare_acceptance_app LOGIN PASSWORD 'dev-acceptance' IN ROLE steelcare_acceptance;
CREATE ROLE steelcare_feedback NOLOGIN;
CREATE ROLE steelcare_feedback_app LOGIN PASSWORD 'dev-feedback' IN ROLE steelcare_feedback;
CREATE ROLE steelcare_notify NOLOGIN;
CREATE ROLE steelcare_notify_app LOGIN PASSWORD 'dev-notify' IN ROLE steelcare_notify;
