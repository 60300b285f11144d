import { hueFor, initials } from './format';

export function Avatar({ userId, name, online, size = 40 }: { userId: string; name: string; online?: boolean; size?: number }) {
  return (
    <span className="avatar" style={{ width: size, height: size, ['--avatar-hue' as string]: hueFor(userId) }} aria-hidden="true">
      {initials(name)}
      {online !== undefined && <span className={online ? 'presence-dot online' : 'presence-dot'} />}
    </span>
  );
}
