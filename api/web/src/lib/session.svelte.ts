// Who is logged in (null: nobody), read from GET /v1/me once and after every change.
import { api, ApiError, csrfToken } from './api';

export interface Profile {
  display_name: string | null;
  avatar_url: string | null;
  risk_tolerance: 'low' | 'medium' | 'high' | null;
  investment_experience: 'beginner' | 'intermediate' | 'expert' | null;
  preferred_sectors: string[];
}

export interface Me {
  id: number;
  email: string;
  email_verified: boolean;
  role: 'user' | 'admin';
  tier: 'free' | 'basic' | 'pro' | 'enterprise';
  disabled: boolean;
  profile: Profile;
  notifications: Record<string, boolean>;
  last_login_at: string | null;
  created_at: string;
}

export const session = $state<{ user: Me | null; loaded: boolean }>({ user: null, loaded: false });

export async function loadSession() {
  // nobody logged in in this browser: nothing to ask
  if (!csrfToken()) {
    session.user = null;
    session.loaded = true;
    return;
  }
  try {
    session.user = await api<Me>('GET', '/v1/me');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) console.warn('session check failed', e);
    session.user = null;
  }
  session.loaded = true;
}

export async function logIn(email: string, password: string) {
  const answer = await api<{ user: Me }>('POST', '/v1/auth/login', { email, password, session: 'cookie' });
  session.user = answer.user;
}

export async function logOut() {
  try {
    await api('POST', '/v1/auth/logout', {});
  } finally {
    session.user = null;
  }
}

export const isAdmin = () => session.user?.role === 'admin';
