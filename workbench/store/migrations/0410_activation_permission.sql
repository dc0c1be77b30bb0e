-- Activation becomes a room permission (activate_audiences), held through roles like every other
-- room permission, instead of a per-user grant. Each granted user keeps the right: a partner org
-- whose users held a grant gets the permission made available, and a granted user with a
-- non-administrator role moves to a copy of that role with the permission added (administrator
-- roles hold every available permission already). Then the grants go.
INSERT INTO partner_permissions (room_id, org_id, permission)
SELECT DISTINCT g.room_id, u.org_id, 'activate_audiences'
FROM activation_grants g
JOIN users u ON u.id = g.user_id
JOIN rooms r ON r.id = g.room_id
WHERE u.org_id <> r.owner_org_id
  AND NOT EXISTS (SELECT 1 FROM partner_permissions p WHERE p.room_id = g.room_id
                  AND p.org_id = u.org_id AND p.permission = 'activate_audiences');
CREATE TEMP TABLE activation_role_copies AS
SELECT old_id, CAST(gen_random_uuid() AS VARCHAR) AS new_id
FROM (SELECT DISTINCT m.role_id AS old_id
      FROM activation_grants g
      JOIN room_members m ON m.room_id = g.room_id AND m.user_id = g.user_id
      JOIN room_roles ro ON ro.id = m.role_id
      WHERE ro.kind <> 'administrator'
        AND NOT list_contains(ro.permissions, 'activate_audiences'));
INSERT INTO room_roles (id, room_id, org_id, name, kind, permissions)
SELECT c.new_id, ro.room_id, ro.org_id, ro.name || ' (activation)', 'custom',
       list_append(ro.permissions, 'activate_audiences')
FROM activation_role_copies c JOIN room_roles ro ON ro.id = c.old_id;
UPDATE room_members SET role_id = c.new_id
FROM activation_role_copies c, activation_grants g
WHERE room_members.role_id = c.old_id AND g.room_id = room_members.room_id
  AND g.user_id = room_members.user_id;
DROP TABLE activation_role_copies;
DROP TABLE activation_grants;
