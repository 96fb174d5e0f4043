import { inject, type InjectionKey } from 'vue'
import type { Project } from './project'

export const ProjectKey: InjectionKey<Project> = Symbol('pyplay-project')

export function useProject(): Project {
  const project = inject(ProjectKey)
  if (!project) throw new Error('useProject() outside the IDE: provide(ProjectKey, createProject()) first')
  return project
}
